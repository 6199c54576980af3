// The `presence` command as CI uses it: exit codes, JSON events, diagnostics, Ctrl-C.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <map>

#include "child_process.hpp"

namespace {

namespace fs = std::filesystem;
using presence::testing::ChildProcess;
using presence::testing::ChildResult;
using presence::testing::runChild;

const std::string kPresence = PRESENCE_CLI_PATH;
const std::string kTestPlugins = std::string("PRESENCE_PLUGIN_PATH=") + PRESENCE_TEST_PLUGIN_DIR;

class Cli : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("presence-cli-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "out");
  }
  void TearDown() override { fs::remove_all(dir_); }

  fs::path write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ / name) << text;
    return dir_ / name;
  }
  ChildResult presence(std::vector<std::string> args, std::vector<std::string> env = {kTestPlugins}) {
    args.insert(args.begin(), kPresence);
    return runChild(args, env, dir_ / "logs");
  }
  std::vector<std::string> filesIn(const fs::path& folder) {
    std::vector<std::string> names;
    for (const auto& e : fs::recursive_directory_iterator(folder)) names.push_back(e.path().filename().string());
    return names;
  }

  fs::path dir_;
};

const char* kGoodGraph = R"({
  "format": "presence-graph", "version": 1, "name": "good",
  "nodes": {
    "two":  {"type": "presence.float_value", "params": {"value": 2}},
    "math": {"type": "presence.float_math", "inputs": {"a": "two.value"}, "params": {"value_b": 3, "operation": "multiply"}},
    "note": {"type": "presence.test_write_text", "inputs": {"after": "math.result"}, "params": {"text": "result"}}
  }
})";

TEST_F(Cli, RunWritesOutputsAndReportsJsonEvents) {
  const auto graph = write("good.json", kGoodGraph);
  const auto r = presence({"run", graph.string(), "--out", (dir_ / "out").string(), "--events", "json"});
  ASSERT_EQ(r.exitCode, 0) << r.err;
  std::vector<nlohmann::json> events;
  std::istringstream lines(r.out);
  for (std::string line; std::getline(lines, line);) events.push_back(nlohmann::json::parse(line));
  ASSERT_GE(events.size(), 2u);
  EXPECT_EQ(events.front()["event"], "run_started");
  EXPECT_EQ(events.front()["total"], 3);
  EXPECT_EQ(events.back()["event"], "run_finished");
  EXPECT_EQ(events.back()["message"], "succeeded");
  int finished = 0;
  for (const auto& e : events) finished += e["event"] == "finished";
  EXPECT_EQ(finished, 3);
  std::ifstream note(dir_ / "out" / "note.txt");
  std::string text;
  std::getline(note, text);
  EXPECT_EQ(text, "result 6");
}

TEST_F(Cli, TextRunSummarisesTheFilesWritten) {
  const auto graph = write("good.json", kGoodGraph);
  const auto r = presence({"run", graph.string(), "--out", (dir_ / "out").string()});
  ASSERT_EQ(r.exitCode, 0) << r.err;
  EXPECT_NE(r.err.find("Files written:"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find((dir_ / "out" / "note.txt").string()), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("Run succeeded: 3 executed"), std::string::npos) << r.err;
}

TEST_F(Cli, SetOverridesAParameter) {
  const auto graph = write("good.json", kGoodGraph);
  auto r = presence({"run", graph.string(), "--out", (dir_ / "out").string(), "--set", "math.operation=subtract",
                     "--set", "two.value=10"});
  ASSERT_EQ(r.exitCode, 0) << r.err;
  std::ifstream note(dir_ / "out" / "note.txt");
  std::string text;
  std::getline(note, text);
  EXPECT_EQ(text, "result 7");
  r = presence({"run", graph.string(), "--set", "nobody.value=1"});
  EXPECT_EQ(r.exitCode, 2);
  EXPECT_NE(r.err.find("no node 'nobody'"), std::string::npos) << r.err;
  r = presence({"run", graph.string(), "--set", "math.operation=modulo"});
  EXPECT_EQ(r.exitCode, 2);
  EXPECT_NE(r.err.find("node 'math', parameter 'operation': 'modulo' is not one of"), std::string::npos) << r.err;
}

TEST_F(Cli, AFailingNodeExitsWithOneAndNamesTheNode) {
  const auto graph = write("fail.json", R"({"format": "presence-graph", "version": 1, "nodes": {
    "boom": {"type": "presence.test_fail", "params": {"message": "the disk is on fire"}},
    "note": {"type": "presence.test_write_text", "inputs": {"after": "boom.value"}}}})");
  const auto r = presence({"run", graph.string(), "--out", (dir_ / "out").string(), "--events", "json"});
  EXPECT_EQ(r.exitCode, 1) << r.err;
  EXPECT_NE(r.err.find("node 'boom'"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("the disk is on fire"), std::string::npos) << r.err;
  EXPECT_NE(r.out.find(R"("event":"failed")"), std::string::npos) << r.out;
  EXPECT_TRUE(filesIn(dir_ / "out").empty());
}

struct BadGraph {
  const char* name;
  const char* text;
  std::vector<std::string> expected;  // each must appear in stderr
};

TEST_F(Cli, InvalidGraphsExitWithTwoAndSayWhereAndWhy) {
  const std::vector<BadGraph> cases = {
      {"unknown_param", R"({"format":"presence-graph","version":1,"nodes":{"a":{"type":"presence.float_value","params":{"valu":1}}}})",
       {"node 'a', parameter 'valu'", "has no parameter 'valu'"}},
      {"cycle", R"({"format":"presence-graph","version":1,"nodes":{
         "a":{"type":"presence.float_math","inputs":{"a":"b.result"}},
         "b":{"type":"presence.float_math","inputs":{"a":"a.result"}}}})",
       {"cycle"}},
      {"type_mismatch", R"({"format":"presence-graph","version":1,"nodes":{
         "n":{"type":"presence.int_value"},
         "m":{"type":"presence.float_math","inputs":{"a":"n.value"}}}})",
       {"node 'm', port 'a'", "expects FLOAT but 'n.value' gives INT"}},
      {"unknown_type", R"({"format":"presence-graph","version":1,"nodes":{"x":{"type":"presence.teleport"}}})",
       {"node 'x'", "unknown node type 'presence.teleport'"}},
      {"malformed", "{\"format\": \"presence-graph\",\n \"version\": 1,\n \"nodes\": {\"a\": }\n}",
       {"malformed.json:3:", "malformed JSON"}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    const auto graph = write(std::string(c.name) + ".json", c.text);
    for (const std::string command : {"run", "validate"}) {
      std::vector<std::string> args{command, graph.string()};
      if (command == "run") args.insert(args.end(), {"--out", (dir_ / "out").string()});
      const auto r = presence(args);
      EXPECT_EQ(r.exitCode, 2) << command << ": " << r.err;
      for (const auto& text : c.expected) EXPECT_NE(r.err.find(text), std::string::npos) << command << ": " << r.err;
    }
  }
  EXPECT_TRUE(filesIn(dir_ / "out").empty());
  const auto missing = presence({"run", (dir_ / "no_such_graph.json").string()});
  EXPECT_EQ(missing.exitCode, 2);
  EXPECT_NE(missing.err.find("no_such_graph.json"), std::string::npos) << missing.err;
}

TEST_F(Cli, ValidateJsonListsEveryProblem) {
  const auto graph = write("bad.json", R"({"format":"presence-graph","version":1,"nodes":{
    "a":{"type":"presence.float_value","params":{"value":"high"}},
    "b":{"type":"presence.float_math","inputs":{"a":"ghost.value"},"params":{"operation":"mod"}}}})");
  const auto r = presence({"validate", graph.string(), "--json"});
  EXPECT_EQ(r.exitCode, 2);
  const auto report = nlohmann::json::parse(r.out);
  EXPECT_FALSE(report["valid"].get<bool>());
  std::set<std::string> codes;
  for (const auto& d : report["diagnostics"]) codes.insert(d["code"].get<std::string>());
  EXPECT_EQ(codes, (std::set<std::string>{"bad-param", "dangling-link"}));
  EXPECT_EQ(report["diagnostics"].size(), 3u);
}

TEST_F(Cli, UsageErrorsExitWithTwo) {
  EXPECT_EQ(presence({}).exitCode, 2);
  EXPECT_EQ(presence({"run"}).exitCode, 2);
  EXPECT_EQ(presence({"run", "x.json", "--events", "xml"}).exitCode, 2);
  EXPECT_EQ(presence({"frobnicate"}).exitCode, 2);
  EXPECT_EQ(presence({"--help"}).exitCode, 0);
}

TEST_F(Cli, CtrlCCancelsCleanlyWithExit130AndNoOutput) {
  const auto graph = write("slow.json", R"({"format": "presence-graph", "version": 1, "nodes": {
    "sleep": {"type": "presence.test_sleep", "params": {"seconds": 60}},
    "note": {"type": "presence.test_write_text", "inputs": {"after": "sleep.value"}}}})");
  ChildProcess child({kPresence, "run", graph.string(), "--out", (dir_ / "out").string(), "--events", "json"},
                     {kTestPlugins}, dir_ / "logs");
  ASSERT_TRUE(child.started());
  ASSERT_TRUE(child.waitForOutput(R"("event":"progress")", std::chrono::seconds(20))) << child.stdoutSoFar();
  const auto start = std::chrono::steady_clock::now();
  child.signal(SIGINT);
  const auto r = child.wait();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(r.exitCode, 130) << r.err;
  EXPECT_LT(seconds, 10.0) << "the node stops at its next check";
  EXPECT_NE(r.out.find(R"("event":"cancelled")"), std::string::npos) << r.out;
  EXPECT_TRUE(filesIn(dir_ / "out").empty());
}

TEST_F(Cli, NodesListsDescribesAndRefusesUnknownNodes) {
  auto r = presence({"nodes", "--json"});
  ASSERT_EQ(r.exitCode, 0) << r.err;
  std::set<std::string> ids;
  for (const auto& d : nlohmann::json::parse(r.out)) ids.insert(d["id"].get<std::string>());
  EXPECT_TRUE(ids.count("presence.float_math"));
  EXPECT_TRUE(ids.count("presence.test_sleep"));
  r = presence({"describe", "presence.float_math"});
  ASSERT_EQ(r.exitCode, 0) << r.err;
  EXPECT_NE(r.out.find("operation : ENUM = \"add\""), std::string::npos) << r.out;
  r = presence({"describe", "PresenceFloatMath", "--json"});
  ASSERT_EQ(r.exitCode, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out)["id"], "presence.float_math");
  r = presence({"describe", "presence.nothing"});
  EXPECT_EQ(r.exitCode, 2);
  EXPECT_NE(r.err.find("unknown node type 'presence.nothing'"), std::string::npos);
}

TEST_F(Cli, ImportsAComfyPromptThatThenRuns) {
  const auto prompt = write("prompt.json", R"({
    "1": {"class_type": "PresenceFloatValue", "inputs": {"value": 4.5}, "_meta": {"title": "Four and a half"}},
    "2": {"class_type": "PresenceFloatMath", "inputs": {"a": ["1", 0], "value_b": 2, "operation": "multiply"}},
    "3": {"class_type": "PresenceTestWriteText", "inputs": {"after": ["2", 0], "text": "comfy"}}})");
  auto r = presence({"import-comfy", prompt.string(), "-o", (dir_ / "imported.json").string()});
  ASSERT_EQ(r.exitCode, 0) << r.err;
  r = presence({"run", (dir_ / "imported.json").string(), "--out", (dir_ / "out").string()});
  ASSERT_EQ(r.exitCode, 0) << r.err;
  std::ifstream note(dir_ / "out" / "note.txt");
  std::string text;
  std::getline(note, text);
  EXPECT_EQ(text, "comfy 9");

  const auto bad = write("bad_prompt.json", R"({"1": {"class_type": "KSampler", "inputs": {}}})");
  r = presence({"import-comfy", bad.string()});
  EXPECT_EQ(r.exitCode, 2);
  EXPECT_NE(r.err.find("unknown ComfyUI class 'KSampler'"), std::string::npos) << r.err;
}

TEST_F(Cli, ARefusedPluginIsReportedAndTheRestStillWorks) {
  const auto r = presence({"nodes"}, {std::string("PRESENCE_PLUGIN_PATH=") + PRESENCE_BAD_PLUGIN_DIR});
  EXPECT_EQ(r.exitCode, 0) << r.err;
  EXPECT_NE(r.err.find("plugin ABI version 99, host expects 1"), std::string::npos) << r.err;
  EXPECT_NE(r.out.find("presence.float_math"), std::string::npos);
  // A library claiming a built-in id is the one refused; the built-in keeps it.
  EXPECT_NE(r.err.find("'presence.float_value' is already registered by"), std::string::npos) << r.err;
  EXPECT_NE(r.out.find("presence.float_value"), std::string::npos);
}

TEST_F(Cli, NodeReferenceInDocsIsUpToDate) {
  // Only the built-in libraries: no PRESENCE_PLUGIN_PATH.
  const auto r = presence({"nodes", "--markdown"}, {"PRESENCE_PLUGIN_PATH="});
  ASSERT_EQ(r.exitCode, 0) << r.err;
  std::ifstream in(std::string(PRESENCE_SOURCE_DIR) + "/docs/nodes.md");
  std::stringstream committed;
  committed << in.rdbuf();
  EXPECT_TRUE(committed.str() == r.out)
      << "docs/nodes.md is stale: regenerate it with `build/release/bin/presence nodes --markdown > docs/nodes.md`";
}

}  // namespace

// Every graph shipped in samples/graphs runs headless through the built-in plugins, as the
// README's main command runs one, and writes at least one file.
TEST_F(Cli, EverySampleGraphRuns) {
  int graphs = 0;
  for (const auto& entry : fs::directory_iterator(fs::path(PRESENCE_SOURCE_DIR) / "samples/graphs")) {
    if (entry.path().extension() != ".json") continue;
    ++graphs;
    const fs::path out = dir_ / "out" / entry.path().stem();
    std::vector<std::string> args = {"run", entry.path().string(), "--out", out.string()};
    // The main job runs as the README runs it; the other generation graphs (each covered on the
    // tiny preset by tests/generate) run small here to keep the suite fast.
    const std::string stem = entry.path().stem().string();
    if (stem.rfind("generate_", 0) == 0 && stem != "generate_two_subjects")
      for (const char* set : {"model.preset=tiny", "model.dit_checkpoint=", "model.video_vae_checkpoint=",
                              "model.audio_vae_checkpoint=", "model.tokenizer=", "sampler.width=64",
                              "sampler.height=64", "sampler.duration=0.5", "sampler.steps=2"})
        args.insert(args.end(), {"--set", set});
    // The whole default-model recipe runs end to end on a tiny world, the tiny presets and a
    // few steps per stage (its full run is the model card's, docs/models/default.md).
    if (stem == "train_default_model")
      for (const char* set :
           {"world.identities=3", "world.clips_per_identity=3", "world.width=64", "world.height=64",
            "world.clip_seconds=0.8", "world.speech_only_share=0.3", "world.video_only_share=0.3",
            "video_vae.preset=tiny", "video_vae.iterations=2", "video_vae.crop_size=32", "audio_vae.preset=tiny",
            "audio_vae.iterations=2", "audio_vae.crop_latents=8", "base.preset=tiny", "stage1_audio.iterations=1",
            "stage1_video.iterations=1", "stage2.iterations=2", "stage3.iterations=1"})
        args.insert(args.end(), {"--set", set});
    const auto r = presence(args, {"PRESENCE_PLUGIN_PATH="});
    EXPECT_EQ(r.exitCode, 0) << entry.path() << "\n" << r.err;
    EXPECT_NE(r.err.find("Run succeeded"), std::string::npos) << entry.path() << "\n" << r.err;
    EXPECT_TRUE(fs::exists(out) && !filesIn(out).empty()) << entry.path() << " wrote nothing";
    // The main job runs the trained built-in model (samples/models/default), not random weights.
    if (stem == "generate_two_subjects") {
      EXPECT_EQ(r.err.find("RANDOM WEIGHTS"), std::string::npos) << r.err;
      EXPECT_NE(r.err.find("seeded random, frozen (seed 0): text"), std::string::npos) << r.err;
      // ... sampled with the negative pass its training taught it, which binds each face to its subject.
      EXPECT_NE(r.err.find("negative pass without faces"), std::string::npos) << r.err;
    }
  }
  EXPECT_GE(graphs, 2);
}

TEST_F(Cli, ModelsListsPresetsWithThePublicCounts) {
  const auto r = presence({"models", "--json"});
  ASSERT_EQ(r.exitCode, 0) << r.err;
  const auto list = nlohmann::json::parse(r.out);
  std::map<std::string, nlohmann::json> byName;
  for (const auto& m : list) byName[m["family"].get<std::string>() + ":" + m["name"].get<std::string>()] = m;
  for (const char* name : {"dit:iap", "dit:ovi", "dit:small", "dit:tiny", "text:umt5-xxl", "text:small", "text:tiny"})
    EXPECT_TRUE(byName.count(name)) << name << "\n" << r.out;
  EXPECT_EQ(byName["dit:iap"]["tensors"], 3693);
  EXPECT_EQ(byName["dit:iap"]["parameters"], 21480155348LL);
  EXPECT_EQ(byName["dit:ovi"]["tensors"], 2073);
  EXPECT_EQ(byName["dit:ovi"]["parameters"], 11660753108LL);
  EXPECT_EQ(byName["text:umt5-xxl"]["tensors"], 242);
  EXPECT_EQ(byName["text:umt5-xxl"]["parameters"], 5680910336LL);
  EXPECT_EQ(byName["audio-vae:mmaudio16k"]["tensors"], 57);
  EXPECT_EQ(byName["audio-vae:mmaudio16k"]["parameters"], 171657218LL);
  EXPECT_EQ(byName["video-vae:wan22"]["tensors"], 196);
  EXPECT_EQ(byName["video-vae:wan22"]["parameters"], 704688668LL);
  EXPECT_EQ(byName["vocoder:bigvgan16k"]["tensors"], 784);
  EXPECT_EQ(byName["vocoder:bigvgan16k"]["parameters"], 112231250LL);
  for (const char* name : {"video-vae:small", "video-vae:tiny", "vocoder:small", "vocoder:tiny"})
    EXPECT_TRUE(byName.count(name)) << name;
}

// The full-size manifest is printed from the config alone: under a 1 GB address-space limit
// (the weights are 43 GB) it still prints every parameter, one a line.
TEST_F(Cli, FullSizeManifestNeedsNoWeights) {
  const auto r = runChild({"/bin/sh", "-c", "ulimit -v 1000000 && exec \"$0\" models --manifest iap", kPresence}, {},
                          dir_ / "logs");
  ASSERT_EQ(r.exitCode, 0) << r.err;
  std::istringstream lines(r.out);
  int count = 0;
  std::string line, first;
  while (std::getline(lines, line)) {
    if (count++ == 0) first = line;
  }
  EXPECT_EQ(count, 3694);  // 3693 public tensors + our identity-embedding table
  EXPECT_EQ(first, "video_model.patch_embedding.weight\t[3072, 48, 1, 2, 2]\tbf16\tforward");
  EXPECT_NE(r.out.find("video_model.blocks.29.self_attn.q_prime.weight\t[3072, 3072]\tbf16\tforward\n"),
            std::string::npos);

  const auto bad = presence({"models", "--manifest", "huge"});
  EXPECT_EQ(bad.exitCode, 2);
  EXPECT_NE(bad.err.find("unknown model preset 'huge' (known: dit:iap, dit:ovi, dit:small, dit:tiny, text:umt5-xxl"),
            std::string::npos)
      << bad.err;

  // A family prefix picks between presets of the same name.
  const auto text = presence({"models", "--manifest", "text:tiny"});
  ASSERT_EQ(text.exitCode, 0) << text.err;
  EXPECT_EQ(text.out.rfind("token_embedding.weight\t[", 0), 0u) << text.out;
  const auto dit = presence({"models", "--manifest", "tiny"});
  EXPECT_EQ(dit.out.rfind("video_model.patch_embedding.weight\t[", 0), 0u) << dit.out;
}
