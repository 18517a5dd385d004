fn main() {
    std::process::exit(jj::cli::main());
}
