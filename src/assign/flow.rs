//! A small, general min-cost max-flow: successive shortest paths with Dijkstra over reduced costs
//! (Johnson potentials). Costs are integers and must be non-negative on the edges the caller adds, so the
//! potentials can start at zero and no Bellman-Ford pass is needed; the residual (reverse) edges that carry
//! negative costs are always non-negative once reduced by the potentials.
//!
//! Each Dijkstra stops as soon as the sink is settled; the potentials are then raised by
//! `min(dist(v), dist(sink))` (unsettled nodes get `dist(sink)`), which keeps every reduced cost
//! non-negative: for a settled `u`, `dist(v) <= dist(u) + c`, and an unsettled `v` has
//! `dist(sink) <= dist(v) <= dist(u) + c`; for an unsettled `u` the change is `dist(sink) - (at most
//! dist(sink)) >= 0`. Edges on the augmenting path are tight, so their reverses reduce to zero.
//!
//! Determinism: the search order depends only on the graph — nodes leave the heap in order of (distance,
//! node index), nodes reached at the current distance by zero-cost edges are settled last-in first-out, and
//! the adjacency lists keep the order in which edges were added — so the same graph always yields the same
//! flow.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// An edge handle returned by [`MinCostFlow::add_edge`], used to read the flow on that edge afterwards.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EdgeId(usize);

#[derive(Debug, Clone)]
struct Edge {
    to: usize,
    /// Remaining capacity in the residual graph.
    cap: i64,
    cost: i64,
}

/// A flow network on dense node indices `0..n`, built once and then solved with [`MinCostFlow::run`].
#[derive(Debug, Clone)]
pub struct MinCostFlow {
    /// Edges in pairs: `2k` is the forward edge, `2k + 1` its residual reverse.
    edges: Vec<Edge>,
    /// The original capacity of each forward edge, to read flows back.
    original_cap: Vec<i64>,
    adj: Vec<Vec<usize>>,
}

/// What [`MinCostFlow::run`] achieved: the amount of flow sent and its total cost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlowResult {
    /// Units sent from source to sink.
    pub flow: i64,
    /// The sum of cost × flow over all edges; minimal among flows of this size.
    pub cost: i64,
}

impl MinCostFlow {
    /// An empty network with `n` nodes.
    pub fn new(n: usize) -> Self {
        Self {
            edges: Vec::new(),
            original_cap: Vec::new(),
            adj: vec![Vec::new(); n],
        }
    }

    /// How many nodes the network has.
    pub fn node_count(&self) -> usize {
        self.adj.len()
    }

    /// Adds a directed edge with a capacity and a non-negative cost per unit; returns its handle.
    ///
    /// # Panics
    /// When a node is out of range, or when the capacity or the cost is negative (the solver relies on
    /// non-negative costs to skip the Bellman-Ford start).
    pub fn add_edge(&mut self, from: usize, to: usize, cap: i64, cost: i64) -> EdgeId {
        assert!(
            from < self.adj.len() && to < self.adj.len(),
            "node out of range"
        );
        assert!(
            cap >= 0 && cost >= 0,
            "capacity and cost must be non-negative"
        );
        let id = self.edges.len();
        self.edges.push(Edge { to, cap, cost });
        self.edges.push(Edge {
            to: from,
            cap: 0,
            cost: -cost,
        });
        self.original_cap.push(cap);
        self.adj[from].push(id);
        self.adj[to].push(id + 1);
        EdgeId(id)
    }

    /// The flow currently on an edge added with [`MinCostFlow::add_edge`].
    pub fn flow(&self, e: EdgeId) -> i64 {
        self.original_cap[e.0 / 2] - self.edges[e.0].cap
    }

    /// Sends as much flow as possible (at most `limit`, if given) from `s` to `t` at the least total cost,
    /// by successive shortest augmenting paths. Can be called once per network.
    pub fn run(&mut self, s: usize, t: usize, limit: Option<i64>) -> FlowResult {
        let n = self.adj.len();
        let limit = limit.unwrap_or(i64::MAX);
        let mut potential = vec![0i64; n];
        let mut dist = vec![i64::MAX; n];
        let mut settled = vec![false; n];
        let mut prev_edge = vec![usize::MAX; n];
        let mut touched: Vec<usize> = Vec::new();
        let mut heap = BinaryHeap::new();
        let mut level: Vec<usize> = Vec::new();
        let mut result = FlowResult { flow: 0, cost: 0 };

        while result.flow < limit {
            // Dijkstra on reduced costs, stopping when the sink is settled.
            for &v in &touched {
                dist[v] = i64::MAX;
                settled[v] = false;
                prev_edge[v] = usize::MAX;
            }
            touched.clear();
            heap.clear();
            level.clear();
            dist[s] = 0;
            touched.push(s);
            heap.push(Reverse((0i64, s)));
            loop {
                // Nodes reached at the current distance through zero-cost edges wait on a plain stack: their
                // distance is already the least possible, so they skip the heap. This matters in crew
                // networks, where every free worker sits at distance 0 from the source.
                let (d, u) = if let Some(u) = level.pop() {
                    (dist[u], u)
                } else if let Some(Reverse((d, u))) = heap.pop() {
                    (d, u)
                } else {
                    break;
                };
                if settled[u] || d > dist[u] {
                    continue;
                }
                settled[u] = true;
                if u == t {
                    break;
                }
                for &ei in &self.adj[u] {
                    let e = &self.edges[ei];
                    if e.cap == 0 {
                        continue;
                    }
                    let v = e.to;
                    if settled[v] {
                        continue;
                    }
                    let reduced = e.cost + potential[u] - potential[v];
                    debug_assert!(reduced >= 0, "negative reduced cost {reduced}");
                    let nd = d + reduced;
                    if nd < dist[v] {
                        if dist[v] == i64::MAX {
                            touched.push(v);
                        }
                        dist[v] = nd;
                        prev_edge[v] = ei;
                        if nd == d {
                            level.push(v);
                        } else {
                            heap.push(Reverse((nd, v)));
                        }
                    }
                }
            }
            if !settled[t] {
                break;
            }
            let dt = dist[t];
            // Raise the potentials: settled nodes by their distance, every other node by dist(t).
            for (v, p) in potential.iter_mut().enumerate() {
                *p += if settled[v] { dist[v] } else { dt };
            }
            // Bottleneck along the path.
            let mut push = limit - result.flow;
            let mut v = t;
            while v != s {
                let ei = prev_edge[v];
                push = push.min(self.edges[ei].cap);
                v = self.edges[ei ^ 1].to;
            }
            let mut v = t;
            while v != s {
                let ei = prev_edge[v];
                self.edges[ei].cap -= push;
                self.edges[ei ^ 1].cap += push;
                result.cost += push * self.edges[ei].cost;
                v = self.edges[ei ^ 1].to;
            }
            result.flow += push;
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cheaper_of_two_parallel_routes_is_used_first() {
        // s=0, a=1, b=2, t=3: route via a costs 1+1, via b costs 5+5.
        let mut g = MinCostFlow::new(4);
        let sa = g.add_edge(0, 1, 1, 1);
        let at = g.add_edge(1, 3, 1, 1);
        let sb = g.add_edge(0, 2, 1, 5);
        g.add_edge(2, 3, 1, 5);
        let r = g.run(0, 3, Some(1));
        assert_eq!(r, FlowResult { flow: 1, cost: 2 });
        assert_eq!((g.flow(sa), g.flow(at), g.flow(sb)), (1, 1, 0));
    }

    #[test]
    fn a_later_path_may_reroute_earlier_flow_through_a_reverse_edge() {
        // Worker x can do job p (cost 0) or q (cost 1); worker y can do only p. The first path sends x to p;
        // the second must move x over to q through the reverse edge so that y can take p.
        let mut g = MinCostFlow::new(6);
        let (s, x, y, p, q, t) = (0, 1, 2, 3, 4, 5);
        g.add_edge(s, x, 1, 0);
        g.add_edge(s, y, 1, 0);
        let xp = g.add_edge(x, p, 1, 0);
        let xq = g.add_edge(x, q, 1, 1);
        let yp = g.add_edge(y, p, 1, 0);
        g.add_edge(p, t, 1, 0);
        g.add_edge(q, t, 1, 0);
        let r = g.run(s, t, None);
        assert_eq!(r, FlowResult { flow: 2, cost: 1 });
        assert_eq!((g.flow(xp), g.flow(xq), g.flow(yp)), (0, 1, 1));
    }

    #[test]
    fn flow_stops_at_the_limit_and_at_the_cut() {
        let mut g = MinCostFlow::new(3);
        g.add_edge(0, 1, 10, 2);
        g.add_edge(1, 2, 4, 3);
        assert_eq!(g.run(0, 2, Some(3)), FlowResult { flow: 3, cost: 15 });
        let mut g = MinCostFlow::new(3);
        g.add_edge(0, 1, 10, 2);
        g.add_edge(1, 2, 4, 3);
        assert_eq!(g.run(0, 2, None), FlowResult { flow: 4, cost: 20 });
    }
}
