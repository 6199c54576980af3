// presence.train_tokenizer: a sentencepiece caption tokenizer trained on a dataset's captions.
#include <algorithm>
#include <fstream>

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

    // The corpus: every caption, then each line of each extra text file (e.g. the caption
    // vocabulary a studio's prompts use) as often as 'extra_repeat' says. It is handed to
    // sentencepiece in memory, so the model records no file names and the same captions give
    // the same bytes in any output folder.
    const fs::path target = media::outputFile(ctx, "filename_prefix", ".model");
    fs::create_directories(target.parent_path());
    std::vector<std::string> corpus;
    for (const auto& clip : manifest.clips) {
      if (clip.caption.text.empty()) continue;
      std::string line = clip.caption.text;  // one sentence per caption, as the text encoder sees it
      std::replace(line.begin(), line.end(), '\n', ' ');
      std::replace(line.begin(), line.end(), '\r', ' ');
      corpus.push_back(std::move(line));
    }
    if (ctx.paramString("extra_corpus").find_first_not_of(" \t\r\n") != std::string::npos) {
      for (const auto& path : media::inputPaths(ctx, "extra_corpus")) {
        std::ifstream in(path);
        if (!in) ctx.fail("extra_corpus", "cannot read " + path.string());
        std::vector<std::string> lines;
        for (std::string line; std::getline(in, line);) {
          if (!line.empty() && line.back() == '\r') line.pop_back();
          if (!line.empty()) lines.push_back(line);
        }
        for (int64_t r = 0; r < ctx.paramInt("extra_repeat"); ++r)
          corpus.insert(corpus.end(), lines.begin(), lines.end());
      }
    }
    if (corpus.empty())
      throw InputError("dataset " + manifest.root.string() + " has no captions to train a tokenizer on");

    const int64_t vocab = ctx.paramInt("vocab_size");
    ctx.progress(0.1, "training sentencepiece (" + std::to_string(vocab) + " pieces)");
    // T5 conventions (pad 0, </s> 1, unk 2, no <s>) and the caption markers as whole pieces,
    // as the bundled tokenizer (samples/models/README.md). hard_vocab_limit=false: a small
    // corpus may not support the full size; sentencepiece then stops below it.
    const std::string args = "--vocab_size=" + std::to_string(vocab) +
                             " --model_type=unigram --character_coverage=1.0 --pad_id=0 --eos_id=1 --unk_id=2 "
                             "--bos_id=-1 --user_defined_symbols=<S>,<E>,<AUDCAP>,<ENDAUDCAP> --num_threads=1 "
                             "--hard_vocab_limit=false --minloglevel=2";
    media::blameParam(ctx, "vocab_size", [&] { models::text::trainSentencePieceModel(corpus, args, target); });
    const std::size_t lines = corpus.size();
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
