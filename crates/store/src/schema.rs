//! The one diesel schema, valid for both backends: only `Text`, `BigInt`,
//! `Integer`, `Bool` and `Binary` columns (types `MultiConnection` supports
//! on SQLite and PostgreSQL; `Bool` is `INTEGER` 0/1 on SQLite, `BOOLEAN` on
//! PostgreSQL; `Binary` is `BLOB` on SQLite, `BYTEA` on PostgreSQL). Timestamps are UTC unix milliseconds; enumerations their wire
//! spelling; dates ISO 8601 text (`YYYY-MM-DD`); uuids hyphenated lowercase text.
//! The per-backend DDL is in `migrations/{sqlite,postgres}`.

diesel::table! {
    institutions (brin) {
        brin -> Text,
        oin -> Nullable<Text>,
        name -> Text,
        sector -> Text,
        status -> Text,
        created_at -> BigInt,
        updated_at -> BigInt,
        privacy_contact -> Nullable<Text>,
    }
}

diesel::table! {
    institution_keys (kid) {
        kid -> Text,
        brin -> Text,
        key_use -> Text,
        alg -> Text,
        jwk -> Text,
        status -> Text,
        not_after -> BigInt,
        created_at -> BigInt,
        retired_at -> Nullable<BigInt>,
        revoked_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    client_certificates (fingerprint) {
        fingerprint -> Text,
        brin -> Text,
        subject -> Text,
        not_after -> BigInt,
        created_at -> BigInt,
        revoked_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    staff_accounts (id) {
        id -> Text,
        username -> Text,
        display_name -> Text,
        role -> Text,
        brin -> Nullable<Text>,
        password_hash -> Text,
        totp_secret -> Nullable<Text>,
        status -> Text,
        created_at -> BigInt,
        updated_at -> BigInt,
        totp_last_step -> Nullable<BigInt>,
    }
}

diesel::table! {
    login_failures (id) {
        id -> BigInt,
        scope -> Text,
        key -> Text,
        at -> BigInt,
    }
}

diesel::table! {
    console_sessions (id_hash) {
        id_hash -> Text,
        staff_id -> Text,
        created_at -> BigInt,
        last_seen_at -> BigInt,
    }
}

diesel::table! {
    audit_events (seq) {
        seq -> BigInt,
        time -> BigInt,
        actor_kind -> Text,
        actor_institution -> Nullable<Text>,
        actor_id -> Nullable<Text>,
        on_behalf_of -> Nullable<Text>,
        action_crud -> Text,
        action_name -> Text,
        resource_kind -> Text,
        resource_id -> Nullable<Text>,
        data_subject -> Nullable<Text>,
        purpose -> Text,
        outcome -> Text,
        reason -> Nullable<Text>,
        request_id -> Nullable<Text>,
        entry -> Text,
    }
}

diesel::table! {
    /// The audit log's Merkle tree: stored hash `idx` in tlog order.
    audit_hashes (idx) {
        idx -> BigInt,
        hash -> Binary,
    }
}

diesel::table! {
    /// Signed tree heads of the audit log.
    audit_checkpoints (size) {
        size -> BigInt,
        root -> Binary,
        signed_note -> Text,
        created_at -> BigInt,
    }
}

diesel::table! {
    /// The institutions each audit event is about, recorded with the event
    /// (see `audit::append`); not part of the Merkle leaf.
    audit_event_relations (institution, seq) {
        seq -> BigInt,
        institution -> Text,
    }
}

diesel::table! {
    /// PostgreSQL only: audit events committed and not yet numbered
    /// (`sequencer`).
    audit_pending (id) {
        id -> BigInt,
        entry -> Text,
        parties -> Text,
    }
}

diesel::table! {
    applications (id) {
        id -> Text,
        student -> Text,
        receiving -> Text,
        sending -> Nullable<Text>,
        programme -> Text,
        crebo -> Nullable<Text>,
        school_year -> Integer,
        applied_on -> Text,
        late -> Bool,
        status -> Text,
        created_at -> BigInt,
        updated_at -> BigInt,
    }
}

diesel::table! {
    application_status_events (id) {
        id -> BigInt,
        application_id -> Text,
        status -> Text,
        reported_at -> BigInt,
        reported_by -> Text,
        intake_on -> Nullable<Text>,
    }
}

diesel::table! {
    packages (id) {
        id -> Text,
        application_id -> Text,
        sender -> Text,
        recipient -> Text,
        student -> Text,
        jti -> Text,
        envelope -> Text,
        envelope_sha256 -> Text,
        sender_kid -> Text,
        receipt -> Text,
        submitted_at -> BigInt,
        delivered_at -> Nullable<BigInt>,
        acknowledged_at -> Nullable<BigInt>,
        acknowledged_by -> Nullable<Text>,
    }
}

diesel::table! {
    package_sections (package_id, section) {
        package_id -> Text,
        section -> Text,
        ciphertext -> Text,
        size -> BigInt,
        sha256 -> Text,
        delivered_at -> Nullable<BigInt>,
        withdrawn_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    consent_events (id) {
        n -> BigInt,
        id -> Text,
        student -> Text,
        recipient -> Text,
        section -> Text,
        kind -> Text,
        purpose -> Text,
        at -> BigInt,
        given_by -> Text,
        student_under_16 -> Bool,
        method -> Text,
        evidence_ref -> Text,
        notice_version -> Text,
        valid_until -> Nullable<BigInt>,
        recorded_by -> Text,
        receipt -> Text,
        school -> Text,
    }
}

diesel::table! {
    inspections (id) {
        id -> Text,
        student -> Text,
        school -> Text,
        at -> BigInt,
        inspected_by -> Text,
        remarks_added -> Bool,
        recorded_at -> BigInt,
        recorded_by -> Text,
    }
}

diesel::joinable!(institution_keys -> institutions (brin));
diesel::joinable!(client_certificates -> institutions (brin));
diesel::joinable!(staff_accounts -> institutions (brin));
diesel::joinable!(application_status_events -> applications (application_id));
diesel::joinable!(packages -> applications (application_id));
diesel::joinable!(package_sections -> packages (package_id));
diesel::joinable!(consent_events -> institutions (recipient));
diesel::joinable!(inspections -> institutions (school));
diesel::joinable!(audit_event_relations -> audit_events (seq));

diesel::allow_tables_to_appear_in_same_query!(
    institutions,
    institution_keys,
    client_certificates,
    staff_accounts,
    login_failures,
    console_sessions,
    audit_events,
    audit_hashes,
    audit_checkpoints,
    audit_event_relations,
    audit_pending,
    applications,
    application_status_events,
    packages,
    package_sections,
    consent_events,
    inspections,
);

diesel::table! {
    /// Permits that let the purge and the erasure delete from the
    /// append-only ledger inside their own transaction (see
    /// `retention::with_permit`). Never committed non-empty.
    deletion_permits (table_name) {
        table_name -> Text,
    }
}

diesel::table! {
    /// When the last application of a student at an institution was purged:
    /// the start of the ledger's retention period there.
    applications_gone (student, institution) {
        student -> Text,
        institution -> Text,
        gone_at -> BigInt,
    }
}

diesel::allow_tables_to_appear_in_same_query!(deletion_permits, applications_gone, applications);

diesel::table! {
    /// Each prune of the audit log: events with seq below `pruned_below`
    /// were deleted under the retention policy (the highest one is the
    /// boundary; see `merkle::pruned_below`). Append-only.
    audit_prunes (pruned_below) {
        pruned_below -> BigInt,
        pruned_at -> BigInt,
    }
}

diesel::table! {
    /// The permit that lets the audit prune delete events below `below`
    /// inside its own transaction (see `retention::prune_audit`). Never
    /// committed non-empty.
    audit_prune_permits (below) {
        below -> BigInt,
    }
}

diesel::table! {
    /// The readiness probe's one row (id 1): `/readyz` updates it and
    /// commits, to learn whether a write can succeed.
    readiness_probe (id) {
        id -> Integer,
        probed_at -> BigInt,
    }
}

diesel::table! {
    /// The last `seq` of each institution's event feed (see `events`).
    institution_event_heads (institution) {
        institution -> Text,
        seq -> BigInt,
    }
}

diesel::table! {
    /// Each institution's event feed: ids and times only (see `events`).
    institution_events (institution, seq) {
        institution -> Text,
        seq -> BigInt,
        id -> Text,
        kind -> Text,
        package_id -> Nullable<Text>,
        application_id -> Nullable<Text>,
        section -> Nullable<Text>,
        occurred_at -> BigInt,
        risk_school_year -> Nullable<Integer>,
        risk_reference -> Nullable<Text>,
        risk_reason -> Nullable<Text>,
        risk_since -> Nullable<Text>,
    }
}

diesel::table! {
    /// One HTTPS endpoint per institution for its signed webhooks.
    webhook_endpoints (institution) {
        institution -> Text,
        url -> Text,
        ca_pem -> Nullable<Text>,
        created_at -> BigInt,
        updated_at -> BigInt,
    }
}

diesel::table! {
    /// The webhook outbox: one row per feed entry to deliver.
    webhook_deliveries (event_id) {
        event_id -> Text,
        institution -> Text,
        state -> Text,
        attempts -> Integer,
        next_attempt_at -> BigInt,
        last_attempt_at -> Nullable<BigInt>,
        last_outcome -> Nullable<Text>,
        created_at -> BigInt,
        delivered_at -> Nullable<BigInt>,
    }
}

diesel::allow_tables_to_appear_in_same_query!(webhook_deliveries, institution_events, webhook_endpoints);

diesel::table! {
    /// Packages whose coming deletion the feed announced (`package.expiring`).
    package_expiry_notices (package_id) {
        package_id -> Text,
        noticed_at -> BigInt,
    }
}

diesel::allow_tables_to_appear_in_same_query!(package_expiry_notices, packages);
diesel::allow_tables_to_appear_in_same_query!(package_expiry_notices, applications);

diesel::table! {
    /// Each institution's contact for the warm handover (JSON).
    institution_contacts (institution) {
        institution -> Text,
        handover -> Text,
        updated_at -> BigInt,
    }
}

diesel::table! {
    /// The safety net's cohorts: a vo school's leavers per school year.
    cohort_members (school, school_year, reference) {
        school -> Text,
        school_year -> Integer,
        reference -> Text,
        student -> Text,
        added_at -> BigInt,
        risk_reason -> Nullable<Text>,
        risk_since -> Nullable<Text>,
    }
}

diesel::allow_tables_to_appear_in_same_query!(cohort_members, applications);

diesel::table! {
    /// Links to the student's own page (see `transparency`).
    transparency_links (id) {
        id -> Text,
        school -> Text,
        student -> Text,
        token_hash -> Text,
        code_hash -> Text,
        created_at -> BigInt,
        expires_at -> BigInt,
        revoked_at -> Nullable<BigInt>,
        failed_attempts -> Integer,
        locked_at -> Nullable<BigInt>,
        opened_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    /// Sessions on the student's own page (see `transparency`).
    transparency_sessions (id_hash) {
        id_hash -> Text,
        link_id -> Text,
        created_at -> BigInt,
        last_seen_at -> BigInt,
    }
}

diesel::joinable!(transparency_sessions -> transparency_links (link_id));
diesel::allow_tables_to_appear_in_same_query!(transparency_sessions, transparency_links);
