#include "presence/models/text/tokenizer.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "presence/core/error.hpp"
#include "test_tokenizer_model.hpp"

namespace presence::models::text {
namespace {

Tokenizer makeTokenizer(int64_t maxLength = 512) {
  TokenizerOptions options;
  options.maxLength = maxLength;
  return Tokenizer(testing::testTokenizerModel(), options);
}

TEST(Tokenizer, SpecialIdsFollowT5) {
  const auto tok = makeTokenizer();
  EXPECT_EQ(tok.padId(), 0);
  EXPECT_EQ(tok.eosId(), 1);
  EXPECT_EQ(tok.unkId(), 2);
  EXPECT_EQ(tok.vocabSize(), 200);
  EXPECT_EQ(tok.piece(0), "<pad>");
  EXPECT_EQ(tok.piece(1), "</s>");
  EXPECT_EQ(tok.piece(2), "<unk>");
}

TEST(Tokenizer, EncodeAppendsEosAndRoundTrips) {
  const auto tok = makeTokenizer();
  const std::string text = "A woman with short red hair looks at the camera.";
  const auto ids = tok.encode(text);
  ASSERT_GE(ids.size(), 2u);
  EXPECT_EQ(ids.back(), tok.eosId());
  for (std::size_t i = 0; i + 1 < ids.size(); ++i) {
    EXPECT_NE(ids[i], tok.eosId());
    EXPECT_NE(ids[i], tok.padId());
  }
  EXPECT_EQ(tok.decode(ids), text);
  // Without skipping, the control piece decodes to nothing either.
  EXPECT_EQ(tok.decode(ids, /*skipSpecial=*/false), text);
}

TEST(Tokenizer, EmptyPromptIsJustEos) {
  const auto tok = makeTokenizer();
  EXPECT_EQ(tok.encode(""), std::vector<int64_t>{1});
  EXPECT_EQ(tok.encode("   \n\t "), std::vector<int64_t>{1});
}

TEST(Tokenizer, WhitespaceIsCollapsed) {
  const auto tok = makeTokenizer();
  EXPECT_EQ(tok.clean("  two\tpeople \n\n talk  "), "two people talk");
  EXPECT_EQ(tok.encode("  two\tpeople \n\n talk  "), tok.encode("two people talk"));
  TokenizerOptions raw;
  raw.cleanWhitespace = false;
  EXPECT_EQ(Tokenizer(testing::testTokenizerModel(), raw).clean(" a  b "), " a  b ");
}

TEST(Tokenizer, CaptionMarkersSurviveAsSinglePieces) {
  const auto tok = makeTokenizer();
  for (const char* marker : {"<S>", "<E>", "<AUDCAP>", "<ENDAUDCAP>", "Audio:"}) {
    const auto id = tok.pieceId(marker);
    EXPECT_NE(id, tok.unkId()) << marker;
    EXPECT_EQ(tok.piece(id), marker);
  }
  const std::string ovi =
      "The man says <S>Hello, it is good to see you again.<E> and smiles. Audio: calm voice, rain outside.";
  const auto ids = tok.encode(ovi);
  EXPECT_EQ(tok.decode(ids), ovi);
  auto count = [&ids](int64_t id) { return std::count(ids.begin(), ids.end(), id); };
  EXPECT_EQ(count(tok.pieceId("<S>")), 1);
  EXPECT_EQ(count(tok.pieceId("<E>")), 1);
  EXPECT_EQ(count(tok.pieceId("Audio:")), 1);

  const std::string ovi720 = "<AUDCAP>A deep male voice speaks slowly over soft piano music.<ENDAUDCAP>";
  const auto ids720 = tok.encode(ovi720);
  // sentencepiece may put its word-start piece "▁" before the marker.
  const auto first = ids720.front() == tok.pieceId("\xE2\x96\x81") ? ids720[1] : ids720.front();
  EXPECT_EQ(first, tok.pieceId("<AUDCAP>"));
  EXPECT_EQ(ids720[ids720.size() - 2], tok.pieceId("<ENDAUDCAP>"));
  EXPECT_EQ(tok.decode(ids720), ovi720);
}

TEST(Tokenizer, UnknownCharactersBecomeUnk) {
  const auto tok = makeTokenizer();
  const auto ids = tok.encode("\xE6\xBC\xA2");  // a CJK character absent from the corpus
  EXPECT_NE(std::find(ids.begin(), ids.end(), tok.unkId()), ids.end());
}

TEST(Tokenizer, TruncationKeepsEos) {
  const auto tok = makeTokenizer(8);
  const std::string text = "The speaker stands in front of a green board and explains the plan to the class.";
  const auto full = makeTokenizer().encode(text);
  ASSERT_GT(full.size(), 8u);
  const auto cut = tok.encode(text);
  ASSERT_EQ(cut.size(), 8u);
  EXPECT_EQ(cut.back(), tok.eosId());
  EXPECT_TRUE(std::equal(cut.begin(), cut.end() - 1, full.begin()));

  TokenizerOptions noEos;
  noEos.maxLength = 8;
  noEos.appendEos = false;
  const auto bare = Tokenizer(testing::testTokenizerModel(), noEos).encode(text);
  ASSERT_EQ(bare.size(), 8u);
  EXPECT_TRUE(std::equal(bare.begin(), bare.end(), full.begin()));
}

TEST(Tokenizer, BatchPadsToLongestOrMaxLength) {
  const auto tok = makeTokenizer(32);
  const std::vector<std::string> texts = {"", "Audio: birds singing.",
                                          "She turns to the window and whispers."};
  const auto batch = tok.encodeBatch(texts);
  ASSERT_EQ(batch.batch, 3);
  const auto longest = static_cast<int64_t>(tok.encode(texts[2]).size());
  EXPECT_EQ(batch.length, longest);
  ASSERT_EQ(batch.ids.size(), static_cast<std::size_t>(3 * longest));
  const auto mask = batch.mask();
  for (int64_t b = 0; b < 3; ++b) {
    const auto expected = tok.encode(texts[static_cast<std::size_t>(b)]);
    EXPECT_EQ(batch.lengths[static_cast<std::size_t>(b)], static_cast<int64_t>(expected.size()));
    EXPECT_EQ(batch.row(b), expected);
    for (int64_t i = 0; i < batch.length; ++i) {
      const bool valid = i < static_cast<int64_t>(expected.size());
      EXPECT_EQ(mask[static_cast<std::size_t>(b * batch.length + i)], valid ? 1 : 0);
      if (!valid) {
        EXPECT_EQ(batch.ids[static_cast<std::size_t>(b * batch.length + i)], tok.padId());
      }
    }
  }
  const auto fixed = tok.encodeBatch(texts, Padding::MaxLength);
  EXPECT_EQ(fixed.length, 32);
  EXPECT_EQ(fixed.row(1), batch.row(1));
  EXPECT_EQ(tok.decode(fixed.ids), tok.decode(batch.ids));  // padding decodes to nothing

  const auto empty = tok.encodeBatch({});
  EXPECT_EQ(empty.batch, 0);
  EXPECT_EQ(empty.length, 0);
}

TEST(Tokenizer, MissingOrCorruptModelNamesTheFile) {
  const auto missing = std::filesystem::temp_directory_path() / "presence_no_such_tokenizer.model";
  try {
    Tokenizer tok(missing);
    FAIL() << "expected an InputError";
  } catch (const core::InputError& e) {
    EXPECT_NE(std::string(e.what()).find(missing.string()), std::string::npos) << e.what();
  }
  const auto corrupt = testing::testTokenizerModel().parent_path() / "corrupt.model";
  {
    std::ofstream out(corrupt, std::ios::binary);
    out << "this is not a protobuf \xff\xfe\x01";
  }
  try {
    Tokenizer tok(corrupt);
    FAIL() << "expected an InputError";
  } catch (const core::InputError& e) {
    EXPECT_NE(std::string(e.what()).find(corrupt.string()), std::string::npos) << e.what();
  }
}

std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// Training from sentences in memory gives the vocabulary the file corpus gives, and the model
// records no file names, so two folders get the same bytes.
TEST(Tokenizer, TrainingFromSentencesIsTheFileCorpusWithoutItsPaths) {
  const auto dir = testing::testTokenizerModel().parent_path();
  std::vector<std::string> sentences;
  {
    std::ifstream in(dir / "corpus.txt");
    for (std::string line; std::getline(in, line);) sentences.push_back(line);
  }
  ASSERT_GT(sentences.size(), 100u);
  const std::string args = "--vocab_size=200 --model_type=unigram --character_coverage=1.0"
                           " --pad_id=0 --eos_id=1 --unk_id=2 --bos_id=-1"
                           " --pad_piece=<pad> --eos_piece=</s> --unk_piece=<unk>"
                           " --user_defined_symbols=" +
                           std::string(testing::kCaptionMarkers) + " --minloglevel=2";
  const auto a = dir / "first_folder" / "tok.model", b = dir / "second_folder" / "tok.model";
  for (const auto& m : {a, b}) {
    std::filesystem::create_directories(m.parent_path());
    trainSentencePieceModel(sentences, args, m);
  }
  const std::string bytes = slurp(a);
  EXPECT_EQ(bytes, slurp(b));
  EXPECT_EQ(bytes.find("first_folder"), std::string::npos);
  EXPECT_EQ(bytes.find(dir.string()), std::string::npos);
  EXPECT_NE(slurp(testing::testTokenizerModel()).find(dir.string()), std::string::npos);  // the file form does

  const Tokenizer fromFile(testing::testTokenizerModel()), fromSentences(a);
  EXPECT_EQ(fromSentences.vocabSize(), fromFile.vocabSize());
  for (const char* text : {"The old fisherman whispers about a frozen lake.", "<S>Hello<E> Audio: rain."})
    EXPECT_EQ(fromSentences.encode(text), fromFile.encode(text)) << text;

  const auto refused = dir / "refused.model";
  try {
    trainSentencePieceModel(sentences, "--input=x.txt " + args, refused);
    FAIL() << "--input accepted";
  } catch (const core::InputError& e) {
    EXPECT_NE(std::string(e.what()).find("--input="), std::string::npos) << e.what();
  }
  EXPECT_THROW(trainSentencePieceModel(sentences, "--model_type=nonsense " + args, refused), core::InputError);
  EXPECT_FALSE(std::filesystem::exists(refused));
}

TEST(Tokenizer, DecodeRejectsOutOfRangeIds) {
  const auto tok = makeTokenizer();
  const std::vector<int64_t> ids = {5, 200};
  EXPECT_THROW(tok.decode(ids), core::InputError);
}

}  // namespace
}  // namespace presence::models::text
