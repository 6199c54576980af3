// presence.train_tokenizer: a sentencepiece caption tokenizer trained on a dataset's captions.
#include <fstream>
#include <random>

#include "node_util.hpp"
#include "presence/data/dataset.hpp"
#include "presence/models/text/tokenizer.hpp"
#include "train_node_util.hpp"
#include "train_nodes.hpp"

namespace presence::nodes::train {
namespace {

using namespace presence::core;
using media::intParam;
using media::pathParam;
using media::port;
using media::stringParam;
namespace fs = std::filesystem;

class TrainTokenizerNode final : public Node {
 public:
  void execute(NodeContext& ctx) override {
    const fs::path folder = datasetFolder(ctx);
    const auto manifest = media::blameParam(ctx, "folder", [&] { return presence::data::readDataset(folder); });

    // The corpus: every caption, then each extra text file (e.g. the caption vocabulary a
    // studio's prompts use) given as often as 'extra_repeat' says.
    const fs::path target = media::outputFile(ctx, "filename_prefix", ".model");
    fs::create_directories(target.parent_path());
    const std::string tag = ".tmp-" + std::to_string(std::random_device{}());
    const fs::path corpus = target.parent_path() / (target.stem().string() + tag + ".txt");
    const fs::path prefix = target.parent_path() / (target.stem().string() + tag);
    struct Cleanup {
      std::vector<fs::path> paths;
      ~Cleanup() {
        std::error_code ec;
        for (const auto& p : paths) fs::remove(p, ec);
      }
    } cleanup{{corpus, fs::path(prefix.string() + ".model"), fs::path(prefix.string() + ".vocab")}};
    std::size_t lines = 0;
    {
      std::ofstream out(corpus);
      if (!out) ctx.fail("filename_prefix", "cannot write " + corpus.string());
      for (const auto& clip : manifest.clips) {
        if (clip.caption.text.empty()) continue;
        out << clip.caption.text << '\n';
        ++lines;
      }
      if (ctx.paramString("extra_corpus").find_first_not_of(" \t\r\n") != std::string::npos) {
        for (const auto& path : media::inputPaths(ctx, "extra_corpus")) {
          std::ifstream in(path);
          if (!in) ctx.fail("extra_corpus", "cannot read " + path.string());
          const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
          for (int64_t r = 0; r < ctx.paramInt("extra_repeat"); ++r) {
            out << text << '\n';
            ++lines;
          }
        }
      }
    }
    if (lines == 0) throw InputError("dataset " + manifest.root.string() + " has no captions to train a tokenizer on");

    const int64_t vocab = ctx.paramInt("vocab_size");
    ctx.progress(0.1, "training sentencepiece (" + std::to_string(vocab) + " pieces)");
    // T5 conventions (pad 0, </s> 1, unk 2, no <s>) and the caption markers as whole pieces,
    // as the bundled tokenizer (samples/models/README.md). hard_vocab_limit=false: a small
    // corpus may not support the full size; sentencepiece then stops below it.
    const std::string args = "--input=" + corpus.string() + " --model_prefix=" + prefix.string() +
                             " --vocab_size=" + std::to_string(vocab) +
                             " --model_type=unigram --character_coverage=1.0 --pad_id=0 --eos_id=1 --unk_id=2 "
                             "--bos_id=-1 --user_defined_symbols=<S>,<E>,<AUDCAP>,<ENDAUDCAP> --num_threads=1 "
                             "--hard_vocab_limit=false --minloglevel=2";
    media::blameParam(ctx, "vocab_size", [&] { models::text::trainSentencePieceModel(args); });
    fs::rename(prefix.string() + ".model", target);
    const models::text::Tokenizer check(target);
    ctx.log(LogLevel::Info, "tokenizer " + target.string() + ": " + std::to_string(check.vocabSize()) +
                                " pieces from " + std::to_string(lines) + " corpus lines");
    FileList files;
    files.paths.push_back(target.string());
    ctx.setOutput("path", Value::make(types::Path, target.string()));
    ctx.setOutput("files", Value::make(types::Files, std::move(files)));
  }
};

}  // namespace

void registerTrainTokenizerNode(NodeRegistry& registry, const std::string& origin) {
  auto d = media::describe(
      "presence.train_tokenizer", "Train Tokenizer", "train", "PresenceTrainTokenizer",
      "Trains a sentencepiece unigram tokenizer (T5 conventions, the caption markers as whole pieces) on the "
      "captions of a dataset folder plus optional extra text files, and writes '<filename_prefix>.model' for "
      "presence.load_model's tokenizer. The text encoder's embedding table bounds the vocabulary (1024 for the "
      "small and tiny presets).");
  d.inputs = {port("path", types::Path, "The dataset folder (overrides 'folder'), e.g. from synth_dataset.", true)};
  d.params = {pathParam("folder", "The dataset folder (dataset.json, identities.jsonl, manifest.jsonl)."),
              pathParam("extra_corpus", "Extra text files (one per line) added to the corpus; empty: none."),
              intParam("extra_repeat", 3, 1, 100, "How many times each extra file is added."),
              intParam("vocab_size", 1024, 16, 1000000, "Pieces (an upper bound: a small corpus may give fewer)."),
              stringParam("filename_prefix", "models/tokenizer", "Output file (without .model) inside the output directory.")};
  d.outputs = {port("path", types::Path, "The written .model file."), port("files", types::Files, "The written file.")};
  d.sideEffects = true;
  registry.add<TrainTokenizerNode>(std::move(d), origin);
}

}  // namespace presence::nodes::train
