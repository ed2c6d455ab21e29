//! Agents' display names by id, kept in memory for the texts of system events ("Alice
//! assigned this to Bob"), which are written inside a conversation actor where a database read
//! per event would hold up the conversation. Filled at start and refreshed whenever an agent
//! is seen (every authenticated request carries the agent's current name).

use std::{collections::HashMap, sync::RwLock};

use crate::domain::AgentId;

#[derive(Debug, Default)]
pub struct AgentNames {
    names: RwLock<HashMap<AgentId, String>>,
}

impl AgentNames {
    /// Remembers (or updates) an agent's name.
    pub fn note(&self, id: AgentId, name: &str) {
        let known = self
            .names
            .read()
            .map(|m| m.get(&id).is_some_and(|n| n == name))
            .unwrap_or(false);
        if !known {
            if let Ok(mut m) = self.names.write() {
                m.insert(id, name.to_owned());
            }
        }
    }

    pub fn get(&self, id: AgentId) -> Option<String> {
        self.names.read().ok()?.get(&id).cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_and_updates_names() {
        let names = AgentNames::default();
        let (a, b) = (AgentId::new(), AgentId::new());
        assert_eq!(names.get(a), None);
        names.note(a, "Alice");
        names.note(a, "Alice");
        assert_eq!(names.get(a).as_deref(), Some("Alice"));
        names.note(a, "Alice B.");
        assert_eq!(names.get(a).as_deref(), Some("Alice B."));
        assert_eq!(names.get(b), None);
    }
}
