-- One row per session, over every Silver event (a view: fct_sessions materializes the same rows incrementally).
{{ sessions_of(ref('stg_events')) }}
