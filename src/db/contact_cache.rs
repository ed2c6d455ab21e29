//! Which conversation a contact's messages go to, remembered so that a customer's second and
//! later messages skip the "find or create the contact and its conversation" write.
//!
//! That lookup ran in the group-commit writer for every inbound message (it creates the
//! contact on first contact, so it must be serialised with other writes): a whole extra job
//! per message. The answer rarely changes, so it is kept here. An entry is only used when the
//! channel tells us nothing new about the contact (same name, phone, email, or none), since a
//! change must still be written. A stale entry (the conversation was deleted) shows up as
//! `not found` from the conversation's actor; the caller then forgets it and resolves again.
//!
//! Memory is bounded: when full, the cache is emptied and fills again from the database.

use std::{collections::HashMap, sync::Mutex};

use crate::{db::queries::ContactInput, domain::ConversationId};

/// Contacts remembered at most (about 200 bytes each).
const CAPACITY: usize = 100_000;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key {
    inbox_id: String,
    external_id: String,
}

fn key_of(inbox_id: &str, external_id: &str) -> Key {
    Key {
        inbox_id: inbox_id.to_owned(),
        external_id: external_id.to_owned(),
    }
}

#[derive(Debug, Clone)]
struct Entry {
    conversation: ConversationId,
    name: Option<String>,
    phone: Option<String>,
    email: Option<String>,
}

#[derive(Debug)]
pub struct ContactCache {
    entries: Mutex<HashMap<Key, Entry>>,
    capacity: usize,
}

impl Default for ContactCache {
    fn default() -> Self {
        ContactCache::with_capacity(CAPACITY)
    }
}

impl ContactCache {
    pub fn with_capacity(capacity: usize) -> Self {
        ContactCache {
            entries: Mutex::new(HashMap::new()),
            capacity: capacity.max(1),
        }
    }

    /// The conversation of this contact, if known and if the channel brings no change to the
    /// contact that would have to be written.
    pub fn get(&self, inbox_id: &str, contact: &ContactInput) -> Option<ConversationId> {
        let entries = self.entries.lock().ok()?;
        let key = key_of(inbox_id, &contact.external_id);
        let e = entries.get(&key)?;
        // `None` from the channel keeps what we knew (see `queries::resolve_conversation`).
        let same = |new: &Option<String>, known: &Option<String>| new.is_none() || new == known;
        (same(&contact.name, &e.name)
            && same(&contact.phone, &e.phone)
            && same(&contact.email, &e.email))
        .then_some(e.conversation)
    }

    /// Remembers what was just written for this contact.
    pub fn put(&self, inbox_id: &str, contact: &ContactInput, conversation: ConversationId) {
        let Ok(mut entries) = self.entries.lock() else {
            return;
        };
        let key = key_of(inbox_id, &contact.external_id);
        if entries.len() >= self.capacity && !entries.contains_key(&key) {
            entries.clear();
        }
        // What the database now holds: the new values, or the known ones where none came.
        let known = entries.get(&key).filter(|e| e.conversation == conversation);
        let keep = |new: &Option<String>, old: Option<&Option<String>>| {
            new.clone().or_else(|| old.cloned().flatten())
        };
        let entry = Entry {
            conversation,
            name: keep(&contact.name, known.map(|e| &e.name)),
            phone: keep(&contact.phone, known.map(|e| &e.phone)),
            email: keep(&contact.email, known.map(|e| &e.email)),
        };
        entries.insert(key, entry);
    }

    /// Forgets a contact (its conversation is gone).
    pub fn forget(&self, inbox_id: &str, external_id: &str) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.remove(&key_of(inbox_id, external_id));
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.entries.lock().map(|e| e.len()).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contact(id: &str, name: Option<&str>, phone: Option<&str>) -> ContactInput {
        ContactInput {
            external_id: id.to_owned(),
            name: name.map(str::to_owned),
            phone: phone.map(str::to_owned),
            email: None,
        }
    }

    #[test]
    fn known_contact_with_nothing_new_is_found() {
        let cache = ContactCache::default();
        let id = ConversationId::new();
        cache.put(
            "support",
            &contact("c1", Some("Ana"), Some("+34600000001")),
            id,
        );
        assert_eq!(
            cache.get("support", &contact("c1", Some("Ana"), None)),
            Some(id)
        );
        assert_eq!(cache.get("support", &contact("c1", None, None)), Some(id));
        // Another inbox, another contact.
        assert_eq!(cache.get("sales", &contact("c1", None, None)), None);
        assert_eq!(cache.get("support", &contact("c2", None, None)), None);
    }

    #[test]
    fn a_change_to_the_contact_is_not_served_from_the_cache() {
        let cache = ContactCache::default();
        let id = ConversationId::new();
        cache.put("support", &contact("c1", Some("Ana"), None), id);
        assert_eq!(
            cache.get("support", &contact("c1", Some("Anna"), None)),
            None
        );
        assert_eq!(
            cache.get("support", &contact("c1", None, Some("+34600000001"))),
            None
        );
        // Written through the database, then remembered with what it now holds.
        cache.put("support", &contact("c1", None, Some("+34600000001")), id);
        assert_eq!(
            cache.get("support", &contact("c1", Some("Ana"), Some("+34600000001"))),
            Some(id)
        );
    }

    #[test]
    fn forgotten_contacts_and_a_full_cache_start_over() {
        let cache = ContactCache::with_capacity(2);
        let (a, b, c) = (
            ConversationId::new(),
            ConversationId::new(),
            ConversationId::new(),
        );
        cache.put("support", &contact("a", None, None), a);
        cache.put("support", &contact("b", None, None), b);
        cache.forget("support", "a");
        assert_eq!(cache.get("support", &contact("a", None, None)), None);
        cache.put("support", &contact("a", None, None), a);
        assert_eq!(cache.len(), 2);
        cache.put("support", &contact("c", None, None), c);
        assert_eq!(cache.len(), 1, "emptied when full, never beyond capacity");
        assert_eq!(cache.get("support", &contact("c", None, None)), Some(c));
    }
}
