//! The conformance suite against a single nats-server 2.15.1 node, R1
//! (`sync_interval: always`): the same checks as the sled backend passes.

mod common;

aduan_log::conformance_tests!(common::Js::single());
