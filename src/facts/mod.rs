//! Discover: everything read from the world, the image's file system and the services.

pub mod cgroup;
pub mod child;
pub mod install;
pub mod remote;
pub mod spark_defaults;
pub mod stored;
