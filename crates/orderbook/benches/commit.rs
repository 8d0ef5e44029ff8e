fn main() {
    // Benchmark arrives in a following change.
}
