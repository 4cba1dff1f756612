//! End-to-end tests: the real `gatehouse` binary (and the simulators) over loopback HTTP.
//! One test binary with a module per area: every extra file under tests/ would be another binary
//! to link.

mod console;
mod disk;
mod entra;
mod foundation;
mod google;
mod helm;
mod jumpcloud;
mod kill_loop;
mod okta;
mod operator;
mod packaging;
mod replicas;
mod response;
mod saml;
mod scim_app;
mod secrets;
mod support;
