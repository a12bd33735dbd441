// A main() for builds without clang's libFuzzer (gcc, or SHAREGATE_FUZZ=OFF): runs
// LLVMFuzzerTestOneInput once on every file of the directories and files named on the
// command line, so the seed corpus and every regression input are replayed by ctest in
// every build. A directory is read recursively and every regular file in it is an input
// (a README too: a fuzz target must take any bytes). A missing path, or a directory with
// no file at all, fails the run: it means the test points at the wrong place.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <system_error>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace fs = std::filesystem;

namespace {

// Read into a buffer of exactly the file's size, so that AddressSanitizer catches a
// target that reads one byte past its input.
bool replay(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        std::fprintf(stderr, "replay: cannot read %s\n", path.c_str());
        return false;
    }
    const std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const std::size_t size = bytes.size();
    const std::unique_ptr<std::uint8_t[]> data(new std::uint8_t[size == 0 ? 1 : size]);
    std::copy(bytes.begin(), bytes.end(), data.get());
    std::fprintf(stderr, "replay: %s (%zu bytes)\n", path.c_str(), size);
    LLVMFuzzerTestOneInput(data.get(), size);
    return true;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: %s DIR_OR_FILE...\n", argv[0]);
        return 2;
    }
    std::vector<fs::path> inputs;
    for (int i = 1; i < argc; ++i) {
        const fs::path path(argv[i]);
        std::error_code error;
        if (fs::is_directory(path, error)) {
            std::size_t found = 0;
            for (const auto& entry : fs::recursive_directory_iterator(path)) {
                if (!entry.is_regular_file()) continue;
                inputs.push_back(entry.path());
                ++found;
            }
            if (found == 0) {
                std::fprintf(stderr, "replay: %s holds no input\n", path.c_str());
                return 1;
            }
        } else if (fs::is_regular_file(path, error)) {
            inputs.push_back(path);
        } else {
            std::fprintf(stderr, "replay: %s does not exist\n", path.c_str());
            return 1;
        }
    }
    // Name order, so that a failure names the same input on every machine.
    std::sort(inputs.begin(), inputs.end());
    for (const auto& input : inputs) {
        if (!replay(input)) return 1;
    }
    std::fprintf(stderr, "replay: %zu inputs, no failure\n", inputs.size());
    return 0;
}
