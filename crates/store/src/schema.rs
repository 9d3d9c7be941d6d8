//! The one diesel schema, valid for both backends: only `Text` and `BigInt`
//! columns (the types `MultiConnection` supports on SQLite and PostgreSQL).
//! Timestamps are UTC unix milliseconds; enumerations their wire spelling.
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

diesel::joinable!(institution_keys -> institutions (brin));
diesel::joinable!(client_certificates -> institutions (brin));
diesel::joinable!(staff_accounts -> institutions (brin));

diesel::allow_tables_to_appear_in_same_query!(
    institutions,
    institution_keys,
    client_certificates,
    staff_accounts,
    login_failures,
    audit_events,
);
