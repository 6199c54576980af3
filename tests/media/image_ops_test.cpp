// Image operations: resize, centre crop, the dense near-square view grid, repeated frames.
#include "test_util.hpp"

namespace presence::media::testing {
namespace {

using Colour = std::array<float, 3>;

const std::vector<Colour> kColours = {{1, 0, 0}, {0, 1, 0}, {0, 0, 1}, {1, 1, 0},
                                      {0, 1, 1}, {1, 0, 1}, {1, 1, 1}};

void expectColour(const ImageBatch& b, int x, int y, const Colour& c, const std::string& where) {
  for (int k = 0; k < 3; ++k) EXPECT_NEAR(b.at(0, y, x, k), c[k], 1e-4) << where << " channel " << k;
}

TEST(ImageOps, GridLayoutIsNearSquareAndTilesTheCanvas) {
  struct Case {
    int n, rows, cols;
  };
  for (const Case& c : {Case{1, 1, 1}, Case{2, 1, 2}, Case{3, 2, 2}, Case{4, 2, 2}, Case{5, 2, 3},
                        Case{7, 3, 3}, Case{9, 3, 3}, Case{10, 3, 4}}) {
    SCOPED_TRACE("n=" + std::to_string(c.n));
    const int W = 101, H = 70;  // not divisible: the last row and column absorb the rest
    const GridLayout g = gridLayout(c.n, W, H);
    EXPECT_EQ(g.rows, c.rows);
    EXPECT_EQ(g.cols, c.cols);
    ASSERT_EQ(static_cast<int>(g.cells.size()), c.n);
    for (int k = 0; k < c.n; ++k) {
      const Rect& r = g.cells[k];
      const int row = k / g.cols, col = k % g.cols;
      EXPECT_EQ(r.x, col * (W / g.cols));
      EXPECT_EQ(r.y, row * (H / g.rows));
      EXPECT_EQ(r.x + r.width, col == g.cols - 1 ? W : (col + 1) * (W / g.cols));
      EXPECT_EQ(r.y + r.height, row == g.rows - 1 ? H : (row + 1) * (H / g.rows));
    }
  }
  EXPECT_INPUT_ERROR(gridLayout(0, 10, 10), "no views");
  EXPECT_INPUT_ERROR(gridLayout(5, 2, 2), "cannot pack 5 views");
}

TEST(ImageOps, PackViewsGridPutsEachViewInItsCell) {
  for (int n = 1; n <= 5; ++n) {
    SCOPED_TRACE("views=" + std::to_string(n));
    // Views of different sizes and aspects: each is centre-cropped into its cell.
    ImageBatch views = flatFrames(std::vector<Colour>(kColours.begin(), kColours.begin() + n), 40, 30);
    const PackedViews packed = packViewsGrid(views, 96, 64);
    ASSERT_EQ(packed.image.count, 1);
    ASSERT_EQ(packed.image.width, 96);
    ASSERT_EQ(packed.image.height, 64);
    ASSERT_EQ(static_cast<int>(packed.layout.cells.size()), n);
    for (int k = 0; k < n; ++k) {
      const Rect& r = packed.layout.cells[k];
      expectColour(packed.image, r.x + r.width / 2, r.y + r.height / 2, kColours[k],
                   "centre of view " + std::to_string(k));
      expectColour(packed.image, r.x + 1, r.y + 1, kColours[k], "corner of view " + std::to_string(k));
    }
    // Cells without a view are black.
    const int cellW = 96 / packed.layout.cols, cellH = 64 / packed.layout.rows;
    for (int k = n; k < packed.layout.rows * packed.layout.cols; ++k) {
      const int x = (k % packed.layout.cols) * cellW + cellW / 2,
                y = (k / packed.layout.cols) * cellH + cellH / 2;
      expectColour(packed.image, x, y, {0, 0, 0}, "empty cell " + std::to_string(k));
    }
  }
}

TEST(ImageOps, CenterCropKeepsTheMiddle) {
  // Three vertical bands, red | green | blue; a square crop keeps only green.
  ImageBatch wide(1, 32, 96, 3);
  for (int y = 0; y < 32; ++y)
    for (int x = 0; x < 96; ++x) wide.at(0, y, x, x / 32) = 1.0f;
  const ImageBatch square = centerCrop(wide, 16, 16);
  ASSERT_EQ(square.width, 16);
  ASSERT_EQ(square.height, 16);
  EXPECT_NEAR(meanChannel(square, 0, 1), 1.0, 0.02);
  EXPECT_NEAR(meanChannel(square, 0, 0), 0.0, 0.02);
  EXPECT_NEAR(meanChannel(square, 0, 2), 0.0, 0.02);

  // Horizontal bands in a tall image: the crop takes the middle rows.
  ImageBatch tall(1, 90, 30, 3);
  for (int y = 0; y < 90; ++y)
    for (int x = 0; x < 30; ++x) tall.at(0, y, x, y / 30) = 1.0f;
  const ImageBatch crop = centerCrop(tall, 30, 30);
  EXPECT_NEAR(meanChannel(crop, 0, 1), 1.0, 1e-6) << "same size: an exact copy of the middle";
}

TEST(ImageOps, ResizeKeepsFlatColoursAndChangesSize) {
  const ImageBatch img = flatFrames({{0.25f, 0.5f, 0.75f}, {1, 0, 0}}, 20, 30);
  const ImageBatch small = resize(img, 7, 5);
  ASSERT_EQ(small.count, 2);
  EXPECT_EQ(small.width, 7);
  EXPECT_EQ(small.height, 5);
  const ImageBatch big = resize(img, 61, 43);
  for (const ImageBatch* b : {&small, &big})
    for (int y = 0; y < b->height; ++y)
      for (int x = 0; x < b->width; ++x) {
        EXPECT_NEAR(b->at(0, y, x, 1), 0.5f, 1e-4);
        EXPECT_NEAR(b->at(1, y, x, 0), 1.0f, 1e-4);
      }
  EXPECT_INPUT_ERROR(resize(img, 0, 10), "out of range");
  EXPECT_INPUT_ERROR(resize(ImageBatch(), 10, 10), "empty");
}

TEST(ImageOps, ResizeKeepsAGradientMonotonic) {
  const ImageBatch g = gradient(1, 16, 64);
  const ImageBatch r = resize(g, 128, 16);
  for (int x = 8; x < 120; ++x) EXPECT_LE(r.at(0, 8, x - 1, 0), r.at(0, 8, x, 0) + 1e-3f) << x;
}

TEST(ImageOps, RepeatFramesLoopsTheBatch) {
  const ImageBatch two = flatFrames({{1, 0, 0}, {0, 1, 0}}, 2, 2);
  const ImageBatch six = repeatFrames(two, 3);
  ASSERT_EQ(six.count, 6);
  for (int i = 0; i < 6; ++i) EXPECT_EQ(six.at(i, 1, 1, i % 2 == 0 ? 0 : 1), 1.0f) << i;
  EXPECT_INPUT_ERROR(repeatFrames(two, 0), "at least 1");
}

TEST(ImageOps, ToRgbReplicatesGrey) {
  ImageBatch grey(1, 1, 2, 1);
  grey.pixels = {0.25f, 0.75f};
  const ImageBatch rgb = toRgb(grey);
  ASSERT_EQ(rgb.channels, 3);
  EXPECT_EQ(rgb.pixels, (std::vector<float>{0.25f, 0.25f, 0.25f, 0.75f, 0.75f, 0.75f}));
}

TEST(ImageOps, RotateHueTurnsColoursAboutTheGreyAxis) {
  ImageBatch b(1, 1, 4, 3);
  const std::vector<Colour> in = {{1, 0, 0}, {0.2f, 0.5f, 0.9f}, {0.4f, 0.4f, 0.4f}, {0.6f, 0.3f, 0.35f}};
  for (int x = 0; x < 4; ++x)
    for (int k = 0; k < 3; ++k) b.at(0, 0, x, k) = in[x][k];
  const double third = 2.0 * M_PI / 3.0;
  // A third of a turn permutes the channels: red to green, (r,g,b) to (b,r,g).
  const ImageBatch t = rotateHue(b, third);
  for (int x = 0; x < 4; ++x) expectColour(t, x, 0, {in[x][2], in[x][0], in[x][1]}, "x=" + std::to_string(x));
  const ImageBatch none = rotateHue(b, 0.0);
  for (int x = 0; x < 4; ++x) expectColour(none, x, 0, in[x], "unturned x=" + std::to_string(x));
  // Any angle keeps greys and the mean of in-gamut colours, and turning back undoes it.
  const ImageBatch q = rotateHue(b, 0.3);
  expectColour(q, 2, 0, in[2], "grey");
  EXPECT_NEAR(q.at(0, 0, 3, 0) + q.at(0, 0, 3, 1) + q.at(0, 0, 3, 2), 1.25f, 1e-5);
  float moved = 0.0f;
  for (int k = 0; k < 3; ++k) moved = std::max(moved, std::abs(q.at(0, 0, 3, k) - in[3][k]));
  EXPECT_GT(moved, 0.03f) << "a small turn changes the colour";
  const ImageBatch back = rotateHue(q, -0.3);
  expectColour(back, 3, 0, in[3], "turned back");
  // Colours pushed out of gamut are clamped, not wrapped.
  for (float v : rotateHue(b, 1.0).pixels) {
    EXPECT_GE(v, 0.0f);
    EXPECT_LE(v, 1.0f);
  }
  EXPECT_INPUT_ERROR(rotateHue(ImageBatch(1, 2, 2, 1), 1.0), "not 3");
  EXPECT_INPUT_ERROR(rotateHue(b, std::nan("")), "finite");
}

}  // namespace
}  // namespace presence::media::testing
