//! Which node a conversation belongs to: the pure rules, apart from NATS and the database.
//!
//! Conversations are grouped in [`SHARDS`] virtual shards, fixed for the life of a cluster
//! (about ten times the most nodes a cluster is expected to have, so shards spread evenly
//! and move in small steps). A shard's *preferred* owner is chosen by rendezvous hashing over
//! the live nodes: every node computes the same answer from the same member list, and when a
//! node leaves only its own shards move (to the node that ranks second for each); when one
//! joins, it takes only the shards it now ranks first for. Preference only *chooses*: the
//! lease in NATS KV *grants* a shard, and the epoch in the database *fences* it.

use std::{collections::BTreeSet, fmt};

use crate::domain::ConversationId;

/// How many shards the conversations are spread over. Changing it re-homes every
/// conversation, so it is a constant, not a setting.
pub const SHARDS: u16 = 256;

/// One of the [`SHARDS`] groups of conversations that move between nodes together.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Shard(u16);

impl Shard {
    /// Shard 0. Its holder also runs what one node of the cluster must do alone (the
    /// broadcasts' dispatcher): that duty moves with its lease.
    pub const FIRST: Shard = Shard(0);

    /// The shard of a conversation. Conversation ids are UUIDv7, random in their low 62 bits,
    /// so the low bits spread conversations evenly.
    pub fn of(id: ConversationId) -> Shard {
        Shard((id.0.as_u64_pair().1 % u64::from(SHARDS)) as u16)
    }

    /// The shard numbered `n`, if it is one.
    pub fn new(n: u16) -> Option<Shard> {
        (n < SHARDS).then_some(Shard(n))
    }

    pub fn number(self) -> u16 {
        self.0
    }

    /// Every shard, in order.
    pub fn all() -> impl Iterator<Item = Shard> {
        (0..SHARDS).map(Shard)
    }

    /// Its lease's key in the shards bucket.
    pub fn lease_key(self) -> String {
        format!("shard.{}", self.0)
    }

    /// The shard a lease key names.
    pub fn from_lease_key(key: &str) -> Option<Shard> {
        key.strip_prefix("shard.")?
            .parse()
            .ok()
            .and_then(Shard::new)
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A node's name in the cluster: letters, digits, `-` and `_`, at most 64 characters, so it
/// can be a NATS subject token and a KV key (no `.`, `*`, `>` or spaces).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub struct NodeId(String);

impl NodeId {
    pub fn parse(s: &str) -> Result<NodeId, String> {
        if s.is_empty() || s.len() > 64 {
            return Err("must be 1-64 characters".to_owned());
        }
        if !s
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err("may hold only letters, digits, `-` and `_`".to_owned());
        }
        Ok(NodeId(s.to_owned()))
    }

    /// The default name: this machine's host name and the port the node listens on, with
    /// any character a node id may not hold turned into `-`.
    pub fn from_host(host: &str, port: u16) -> NodeId {
        let host: String = host
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                    c
                } else {
                    '-'
                }
            })
            .take(56)
            .collect();
        let host = if host.is_empty() { "node".into() } else { host };
        NodeId(format!("{host}-{port}"))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// 64-bit FNV-1a: stable across processes, versions and machines (std's hasher is not), which
/// is what lets every node compute the same preference.
fn fnv1a(parts: &[&[u8]]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for b in *part {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        // A separator, so ("ab", "c") and ("a", "bc") differ.
        h ^= 0xff;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    // FNV's low bits mix poorly for short inputs; a final avalanche (from MurmurHash3).
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h
}

/// The live node that ranks first for this shard (rendezvous hashing), or none without nodes.
pub fn preferred(shard: Shard, nodes: &BTreeSet<NodeId>) -> Option<&NodeId> {
    nodes
        .iter()
        .max_by_key(|n| (fnv1a(&[n.0.as_bytes(), &shard.0.to_be_bytes()]), *n))
}

/// What a node should do with its leases, given who is alive.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Plan {
    /// Shards it prefers and does not hold: try to create their lease (it succeeds once the
    /// previous holder released it or its lease expired).
    pub claim: Vec<Shard>,
    /// Shards it holds that another live node now prefers: hand them over (stop their actors,
    /// then delete the lease), at most a few per round so a joining node does not take
    /// everything at once.
    pub release: Vec<Shard>,
}

/// The plan of node `me` holding `held`, with `live` the member list (which includes `me`
/// while it is a member; a node that is not in it yet claims nothing and releases nothing).
/// `orphans` are shards no node holds a lease for: anyone may claim them, so that a shard
/// never waits for its preferred node if that node is not taking it (just joining, or not
/// yet seen as gone by everyone).
pub fn plan(
    me: &NodeId,
    live: &BTreeSet<NodeId>,
    held: &BTreeSet<Shard>,
    orphans: &BTreeSet<Shard>,
    release_at_most: usize,
) -> Plan {
    if !live.contains(me) {
        return Plan::default();
    }
    let mut plan = Plan::default();
    for shard in Shard::all() {
        let mine = preferred(shard, live) == Some(me);
        match (held.contains(&shard), mine) {
            (false, true) => plan.claim.push(shard),
            (false, false) if orphans.contains(&shard) => plan.claim.push(shard),
            (true, false) if plan.release.len() < release_at_most => plan.release.push(shard),
            _ => {}
        }
    }
    plan
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nodes(names: &[&str]) -> BTreeSet<NodeId> {
        names.iter().map(|n| NodeId::parse(n).unwrap()).collect()
    }

    fn owners(live: &BTreeSet<NodeId>) -> Vec<NodeId> {
        Shard::all()
            .map(|s| preferred(s, live).unwrap().clone())
            .collect()
    }

    #[test]
    fn node_ids_are_subject_tokens() {
        for (input, ok) in [
            ("n1", true),
            ("web-01_a", true),
            ("", false),
            ("a.b", false),
            ("a b", false),
            ("a*", false),
            ("a>", false),
            (&"x".repeat(65), false),
            (&"x".repeat(64), true),
        ] {
            assert_eq!(NodeId::parse(input).is_ok(), ok, "{input:?}");
        }
        assert_eq!(
            NodeId::from_host("web.example.com", 8080).as_str(),
            "web-example-com-8080"
        );
        assert_eq!(NodeId::from_host("", 1).as_str(), "node-1");
        let long = NodeId::from_host(&"h".repeat(200), 65535);
        assert!(NodeId::parse(long.as_str()).is_ok());
    }

    #[test]
    fn lease_keys_round_trip() {
        for shard in Shard::all() {
            assert_eq!(Shard::from_lease_key(&shard.lease_key()), Some(shard));
        }
        for key in ["shard.256", "shard.-1", "shard.", "node.1", "shard.1.2"] {
            assert_eq!(Shard::from_lease_key(key), None, "{key}");
        }
    }

    #[test]
    fn every_node_computes_the_same_owner_whatever_the_order_it_learned_them_in() {
        let a = nodes(&["n1", "n2", "n3"]);
        let b = nodes(&["n3", "n1", "n2"]);
        assert_eq!(owners(&a), owners(&b));
        assert_eq!(preferred(Shard(0), &BTreeSet::new()), None);
    }

    #[test]
    fn shards_spread_evenly() {
        for n in [2usize, 3, 6] {
            let names: Vec<String> = (1..=n).map(|i| format!("node-{i}")).collect();
            let refs: Vec<&str> = names.iter().map(String::as_str).collect();
            let live = nodes(&refs);
            let owners = owners(&live);
            let fair = f64::from(SHARDS) / n as f64;
            for node in &live {
                let count = owners.iter().filter(|o| *o == node).count() as f64;
                assert!(
                    (count - fair).abs() <= fair * 0.35,
                    "{n} nodes: {node} has {count} shards, fair share {fair:.0}"
                );
            }
        }
    }

    #[test]
    fn a_node_leaving_moves_only_its_own_shards() {
        let before = owners(&nodes(&["n1", "n2", "n3"]));
        let after = owners(&nodes(&["n1", "n3"]));
        for (b, a) in before.iter().zip(&after) {
            if b.as_str() != "n2" {
                assert_eq!(a, b, "a shard of a survivor moved");
            } else {
                assert_ne!(a.as_str(), "n2");
            }
        }
        // …and one joining takes only shards it now prefers, from whoever had them.
        let joined = owners(&nodes(&["n1", "n2", "n3", "n4"]));
        for (b, j) in before.iter().zip(&joined) {
            assert!(j == b || j.as_str() == "n4");
        }
    }

    #[test]
    fn plans() {
        let live = nodes(&["n1", "n2"]);
        let n1 = NodeId::parse("n1").unwrap();
        let prefers: BTreeSet<Shard> = Shard::all()
            .filter(|s| preferred(*s, &live) == Some(&n1))
            .collect();
        let others: BTreeSet<Shard> = Shard::all().filter(|s| !prefers.contains(s)).collect();
        let none = BTreeSet::new();

        // Nothing held: claim exactly its preferred shards.
        let p = plan(&n1, &live, &none, &none, 8);
        assert_eq!(p.claim, prefers.iter().copied().collect::<Vec<_>>());
        assert!(p.release.is_empty());

        // Holding its own: nothing to do.
        assert_eq!(plan(&n1, &live, &prefers, &none, 8), Plan::default());

        // Holding everything (it was alone, n2 just joined): release n2's, a few at a time.
        let all: BTreeSet<Shard> = Shard::all().collect();
        let p = plan(&n1, &live, &all, &none, 8);
        assert!(p.claim.is_empty());
        assert_eq!(p.release.len(), 8);
        assert!(p.release.iter().all(|s| others.contains(s)));

        // An orphan of another node's preference is claimed too; one already held is not.
        let orphan = *others.iter().next().unwrap();
        let orphans: BTreeSet<Shard> = [orphan].into();
        let p = plan(&n1, &live, &prefers, &orphans, 8);
        assert_eq!(p.claim, vec![orphan]);

        // Not a member (yet, or any more): touch nothing.
        let n9 = NodeId::parse("n9").unwrap();
        assert_eq!(plan(&n9, &live, &all, &orphans, 8), Plan::default());
    }
}
