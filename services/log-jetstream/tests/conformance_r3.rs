//! The conformance suite against a three-node nats-server 2.15.1 cluster on
//! loopback, every log an R3 stream: the same checks as the sled backend passes.

mod common;

aduan_log::conformance_tests!(common::Js::three());
