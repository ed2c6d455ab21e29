//! The providers' protocols, pure: parse their webhooks, check their signatures, build the
//! requests we send them and classify their answers, with no I/O, so each is unit-tested with
//! the provider's documented payloads. What does I/O with them lives in [`crate::channels`].
//!
//! - `api` is our own signed-JSON channel; `widget` signs website visitors' ids.
//! - `whatsapp` (Cloud API), `twilio` (SMS, MMS, WhatsApp through Twilio) and `meta`
//!   (Messenger, Instagram), with `hub_signature` (Meta's webhook signatures and handshake).
//! - `normalized` is what they all parse into and build from: one inbound message, status
//!   update or outbound request shape whatever the provider.
//! - `phone` (E.164) and `sms` (GSM-7/UCS-2 segments, look-alike encoding).

pub mod api;
pub mod hub_signature;
pub mod meta;
pub mod normalized;
pub mod phone;
pub mod sms;
pub mod twilio;
pub mod whatsapp;
pub mod widget;

#[cfg(test)]
mod api_proptests;
#[cfg(test)]
mod hub_signature_proptests;
#[cfg(test)]
mod meta_proptests;
#[cfg(test)]
mod phone_proptests;
#[cfg(test)]
pub(crate) mod prop_strategies;
#[cfg(test)]
mod sms_proptests;
#[cfg(test)]
mod twilio_proptests;
#[cfg(test)]
mod whatsapp_proptests;
#[cfg(test)]
mod widget_proptests;
