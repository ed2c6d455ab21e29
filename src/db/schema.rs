//! Hand-reviewed, portable `table!` definitions (the same on SQLite and PostgreSQL).
//! Generated from the SQLite set with `diesel print-schema`, then checked by review.

diesel::table! {
    agents (id) {
        id -> Text,
        email -> Text,
        name -> Text,
        role -> Text,
        password_hash -> Text,
        availability -> Text,
        created_at -> Timestamp,
        notify_desktop -> Bool,
        notify_sound -> Bool,
        deactivated_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    auth_tokens (token_hash) {
        token_hash -> Text,
        agent_id -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
    }
}

diesel::table! {
    contacts (id) {
        id -> Text,
        inbox_id -> Text,
        external_id -> Text,
        name -> Nullable<Text>,
        phone -> Nullable<Text>,
        email -> Nullable<Text>,
        blocked -> Bool,
        created_at -> Timestamp,
        name_source -> Nullable<Text>,
        country -> Nullable<Text>,
        country_source -> Nullable<Text>,
        language -> Nullable<Text>,
        language_source -> Nullable<Text>,
        time_zone -> Nullable<Text>,
        browser -> Nullable<Text>,
        os -> Nullable<Text>,
        device -> Nullable<Text>,
        unsubscribed_at -> Nullable<Timestamp>,
        unsubscribed_reason -> Nullable<Text>,
    }
}

diesel::table! {
    contact_activity (id) {
        id -> Text,
        contact_id -> Text,
        kind -> Text,
        at -> Timestamp,
        agent_id -> Nullable<Text>,
        conversation_id -> Nullable<Text>,
        detail -> Text,
    }
}

diesel::table! {
    contact_files (id) {
        id -> Text,
        contact_id -> Text,
        name -> Text,
        mime -> Text,
        size_bytes -> BigInt,
        sha256 -> Text,
        path -> Text,
        uploaded_by -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    conversations (id) {
        id -> Text,
        inbox_id -> Text,
        contact_id -> Text,
        status -> Text,
        assignee_id -> Nullable<Text>,
        unread_count -> Integer,
        archived -> Bool,
        last_message_at -> Nullable<Timestamp>,
        last_message_author -> Nullable<Text>,
        last_message_preview -> Nullable<Text>,
        last_customer_message_at -> Nullable<Timestamp>,
        first_reply_at -> Nullable<Timestamp>,
        resolved_at -> Nullable<Timestamp>,
        bot_misses -> Integer,
        follow_up_at -> Nullable<Timestamp>,
        follow_up_reason -> Nullable<Text>,
        lead_stage -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        network -> Nullable<Text>,
        assistant_id -> Nullable<Text>,
        review_due_at -> Nullable<Timestamp>,
        reviewed_at -> Nullable<Timestamp>,
        quality_score -> Nullable<Integer>,
        review -> Nullable<Text>,
        csat_requested_at -> Nullable<Timestamp>,
        csat -> Nullable<Integer>,
        csat_at -> Nullable<Timestamp>,
        follow_up_message -> Nullable<Text>,
        ai_follow_ups -> Integer,
        waiting_since -> Nullable<Timestamp>,
        snoozed_until -> Nullable<Timestamp>,
    }
}

diesel::table! {
    assistant_usage (assistant_id, day) {
        assistant_id -> Text,
        day -> Text,
        requests -> BigInt,
        prompt_tokens -> BigInt,
        completion_tokens -> BigInt,
    }
}

diesel::table! {
    conversation_usage (conversation_id) {
        conversation_id -> Text,
        requests -> BigInt,
        prompt_tokens -> BigInt,
        completion_tokens -> BigInt,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    messages (id) {
        id -> Text,
        conversation_id -> Text,
        inbox_id -> Text,
        external_id -> Nullable<Text>,
        client_id -> Nullable<Text>,
        direction -> Text,
        author -> Text,
        agent_id -> Nullable<Text>,
        body -> Text,
        private_note -> Bool,
        delivery_status -> Nullable<Text>,
        failure_reason -> Nullable<Text>,
        sent_at -> Timestamp,
        created_at -> Timestamp,
        kind -> Text,
        media_source -> Nullable<Text>,
        media_path -> Nullable<Text>,
        media_mime -> Nullable<Text>,
        media_filename -> Nullable<Text>,
        payload -> Nullable<Text>,
        segments -> Nullable<Integer>,
        provider_sent_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    audit_log (id) {
        id -> Text,
        at -> Timestamp,
        agent_id -> Nullable<Text>,
        agent_email -> Text,
        action -> Text,
        subject -> Text,
        detail -> Nullable<Text>,
    }
}

diesel::table! {
    outbox (message_id) {
        message_id -> Text,
        conversation_id -> Text,
        inbox_id -> Text,
        attempts -> Integer,
        next_attempt_at -> Timestamp,
        last_error -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    contact_memories (id) {
        id -> Text,
        contact_id -> Text,
        kind -> Text,
        text -> Text,
        slot -> Nullable<Text>,
        source_conversation_id -> Nullable<Text>,
        source_message_id -> Nullable<Text>,
        created_by -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        invalidated_at -> Nullable<Timestamp>,
    }
}

diesel::joinable!(auth_tokens -> agents (agent_id));
diesel::joinable!(contact_activity -> contacts (contact_id));
diesel::joinable!(contact_files -> contacts (contact_id));
diesel::joinable!(contact_memories -> contacts (contact_id));
diesel::joinable!(conversations -> contacts (contact_id));
diesel::joinable!(messages -> conversations (conversation_id));
diesel::joinable!(conversation_usage -> conversations (conversation_id));
diesel::joinable!(outbox -> messages (message_id));
diesel::table! {
    broadcasts (id) {
        id -> Text,
        name -> Text,
        inbox_id -> Text,
        network -> Nullable<Text>,
        segment_ids -> Text,
        text -> Nullable<Text>,
        template_name -> Nullable<Text>,
        template_language -> Nullable<Text>,
        parameters -> Nullable<Text>,
        fallback -> Nullable<Text>,
        status -> Text,
        pause_reason -> Nullable<Text>,
        rate_per_second -> Nullable<Integer>,
        scheduled_at -> Nullable<Timestamp>,
        started_at -> Nullable<Timestamp>,
        completed_at -> Nullable<Timestamp>,
        created_by -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    broadcast_recipients (id) {
        id -> Text,
        broadcast_id -> Text,
        contact_id -> Text,
        address -> Nullable<Text>,
        status -> Text,
        skip_reason -> Nullable<Text>,
        rendered -> Nullable<Text>,
        provider_message_id -> Nullable<Text>,
        error_code -> Nullable<Text>,
        error_title -> Nullable<Text>,
        attempts -> Integer,
        next_attempt_at -> Nullable<Timestamp>,
        sent_at -> Nullable<Timestamp>,
        delivered_at -> Nullable<Timestamp>,
        read_at -> Nullable<Timestamp>,
        failed_at -> Nullable<Timestamp>,
        replied_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::joinable!(segment_members -> segments (segment_id));
diesel::joinable!(broadcast_recipients -> broadcasts (broadcast_id));
diesel::joinable!(segment_members -> contacts (contact_id));

diesel::allow_tables_to_appear_in_same_query!(
    agents,
    assistant_answers,
    assistant_usage,
    audit_log,
    auth_tokens,
    broadcast_recipients,
    broadcasts,
    canned_responses,
    contact_activity,
    contact_files,
    contact_memories,
    contacts,
    conversation_tags,
    conversation_usage,
    conversations,
    messages,
    outbox,
    pending_statuses,
    segment_members,
    segments,
);

diesel::table! {
    conversation_tags (conversation_id, tag) {
        conversation_id -> Text,
        tag -> Text,
    }
}

diesel::joinable!(conversation_tags -> conversations (conversation_id));

diesel::table! {
    pending_statuses (id) {
        id -> Text,
        inbox_id -> Text,
        provider_message_id -> Text,
        status -> Text,
        reason -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    segments (id) {
        id -> Text,
        name -> Text,
        kind -> Text,
        filter -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        created_by -> Nullable<Text>,
    }
}

diesel::table! {
    segment_members (segment_id, contact_id) {
        segment_id -> Text,
        contact_id -> Text,
        added_at -> Timestamp,
        added_by -> Nullable<Text>,
    }
}

diesel::table! {
    referrals (id) {
        id -> Text,
        contact_id -> Text,
        conversation_id -> Nullable<Text>,
        message_id -> Nullable<Text>,
        event_key -> Nullable<Text>,
        kind -> Text,
        source_id -> Nullable<Text>,
        source_type -> Nullable<Text>,
        source_url -> Nullable<Text>,
        headline -> Nullable<Text>,
        body -> Nullable<Text>,
        media_type -> Nullable<Text>,
        image_url -> Nullable<Text>,
        video_url -> Nullable<Text>,
        thumbnail_url -> Nullable<Text>,
        ctwa_clid -> Nullable<Text>,
        ref_param -> Nullable<Text>,
        catalog_id -> Nullable<Text>,
        product_retailer_id -> Nullable<Text>,
        utm_source -> Nullable<Text>,
        utm_medium -> Nullable<Text>,
        utm_campaign -> Nullable<Text>,
        utm_term -> Nullable<Text>,
        utm_content -> Nullable<Text>,
        landing_url -> Nullable<Text>,
        page_url -> Nullable<Text>,
        referrer -> Nullable<Text>,
        extra -> Text,
        occurred_at -> Timestamp,
        created_at -> Timestamp,
    }
}

diesel::table! {
    canned_responses (id) {
        id -> Text,
        short_code -> Text,
        text -> Text,
        inbox_id -> Nullable<Text>,
        created_by -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    assistant_answers (message_id) {
        message_id -> Text,
        conversation_id -> Text,
        inbox_id -> Text,
        assistant_id -> Text,
        answered_by -> Text,
        outcome -> Text,
        entry_id -> Nullable<Text>,
        entry_question -> Nullable<Text>,
        model -> Nullable<Text>,
        confidence -> Nullable<Double>,
        question -> Text,
        question_key -> Text,
        created_at -> Timestamp,
        wrong_at -> Nullable<Timestamp>,
        wrong_by -> Nullable<Text>,
        wrong_reason -> Nullable<Text>,
    }
}

diesel::joinable!(assistant_answers -> conversations (conversation_id));
