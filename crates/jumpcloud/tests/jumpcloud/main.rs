//! The JumpCloud connector's integration tests: doc-shaped fixtures and the simulator.

mod mapping;
mod sim;
