//! Who may see what: the one visibility rule, used by the list query, every REST route, the hub
//! and the websocket sessions alike.

use super::AgentId;

/// An agent as far as visibility goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Viewer {
    pub agent: AgentId,
    /// Supervisors, admins, and every agent when visibility is "all".
    pub sees_all: bool,
}

impl Viewer {
    /// May this viewer see a conversation with this assignee?
    pub fn may_see_assignee(&self, assignee: Option<AgentId>) -> bool {
        self.sees_all || assignee.is_none_or(|a| a == self.agent)
    }
}
