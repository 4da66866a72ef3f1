//! Reading build info and build IDs from real Go binaries (every executable format Go writes),
//! compared with what `go version -m` and `go tool buildid` print.

mod common;
mod go_binaries;
mod large_binary;
mod non_go_inputs;
