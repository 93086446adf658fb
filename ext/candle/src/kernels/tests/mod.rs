//! The kernels against scalar references (moved with them from their
//! scratch crate): block layouts, f16, activation quantizers, every row dot
//! on every ISA this CPU has, and matmul on every path and thread count.
mod attention;
mod basics;
mod common;
mod dot;
mod matmul;
mod sgemm;
