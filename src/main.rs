fn main() {
    eprintln!("keepvip: the agent is not built yet");
    std::process::exit(1);
}
