//! A provider's status webhook about a broadcast message: which recipient it names and what
//! it reports. Applied by `channels::inbound` in the same write as the lookup of a reply's
//! message, so a status for a broadcast and one for a reply cannot be confused.

use crate::domain::{broadcast::ProviderReport, delivery::DeliveryStatus, RecipientId};

/// The recipient a status's callback data names (WhatsApp `biz_opaque_callback_data`, the
/// Twilio status URL's query), if it names one of ours.
pub fn recipient_in(callback_data: Option<&str>) -> Option<RecipientId> {
    callback_data?
        .trim()
        .strip_prefix(super::CALLBACK_PREFIX)?
        .parse()
        .ok()
}

/// A delivery status as a report about a recipient (`queued` tells nothing).
pub fn report_of(status: DeliveryStatus) -> Option<ProviderReport> {
    match status {
        DeliveryStatus::Queued => None,
        DeliveryStatus::Sent => Some(ProviderReport::Sent),
        DeliveryStatus::Delivered => Some(ProviderReport::Delivered),
        DeliveryStatus::Read => Some(ProviderReport::Read),
        DeliveryStatus::Failed => Some(ProviderReport::Failed),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn callback_data_names_a_recipient_only_with_our_prefix() {
        let id = RecipientId::new();
        let data = format!("{}{id}", super::super::CALLBACK_PREFIX);
        assert_eq!(recipient_in(Some(&data)), Some(id));
        assert_eq!(recipient_in(Some(&format!(" {data} "))), Some(id));
        for other in ["", "x", &id.to_string(), "broadcast-recipient:not-a-uuid"] {
            assert_eq!(recipient_in(Some(other)), None, "{other}");
        }
        assert_eq!(recipient_in(None), None);
    }

    #[test]
    fn statuses_map_to_reports() {
        assert_eq!(report_of(DeliveryStatus::Queued), None);
        assert_eq!(report_of(DeliveryStatus::Sent), Some(ProviderReport::Sent));
        assert_eq!(
            report_of(DeliveryStatus::Delivered),
            Some(ProviderReport::Delivered)
        );
        assert_eq!(report_of(DeliveryStatus::Read), Some(ProviderReport::Read));
        assert_eq!(
            report_of(DeliveryStatus::Failed),
            Some(ProviderReport::Failed)
        );
    }
}
