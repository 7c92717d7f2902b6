//! `fugue`: the command-line door to fugue.
//!
//! `main` is small and owns exit codes: 0 on success, 1 on an error (printed
//! with its cause chain), 2 on bad usage (clap). A closed stdout pipe (e.g.
//! `fugue info x.mid | head`) ends quietly.

mod bachbot;
mod bachprop;
mod chorale;
mod cmd;
mod data;
mod eck;
mod embedded;
#[cfg(test)]
mod fixtures;
mod generate;
mod harmonet;
mod melody;
mod metrics;
mod output;
mod performance;
mod recipe;
mod render;
mod roll;
mod tokenize;
mod train;

use clap::Parser;

/// mimalloc rather than glibc's allocator: a training step frees and
/// reallocates tens of MB of activations, which glibc hands back to the
/// kernel and page-faults in again at every step (the LSTM step is 15%
/// faster with mimalloc; docs/BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    fugue_train::allocator::keep_freed_memory();
    let cli = cmd::Cli::parse();
    if let Err(e) = cmd::run(cli) {
        if e.chain().any(|c| {
            c.downcast_ref::<std::io::Error>()
                .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
        }) {
            std::process::exit(0);
        }
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}
