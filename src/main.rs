//! The binary: take over the signals before anything else, make a panic an internal error
//! (70), snapshot argv and the environment, and hand over to the library.

fn main() {
    // First thing, before any other code can run: a signal sent to a namespace's PID 1 at its
    // default disposition is dropped by the kernel, so block them now and take them later.
    let blocked = match spark_init::supervise::signals::take_over() {
        Ok(set) => set,
        Err(e) => {
            eprintln!("spark-init: error: cannot take over signal handling: {e}");
            std::process::exit(i32::from(spark_init::exit_code::INTERNAL));
        }
    };
    // Then a panic is an internal error (70) rather than an abort.
    spark_init::supervise::internal_error::install_panic_hook();
    let args: Vec<_> = std::env::args_os().collect();
    let env = spark_init::config::EnvSnapshot::new(std::env::vars_os());
    let code = spark_init::main_with(args, env, &blocked);
    std::process::exit(code);
}
