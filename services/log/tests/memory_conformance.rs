//! The conformance suite, run against the in-memory backend.

aduan_log::conformance_tests!(aduan_log::conformance::Memory);
