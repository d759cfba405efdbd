#pragma once

#include <QString>
#include <QStringList>

#include <array>
#include <cstdint>
#include <optional>
#include <random>
#include <vector>

// The world the bundled model is trained on: one flat shape of one colour on a flat
// background of another, described exactly by its caption. Geometry lives here too, in
// units of the image size, so that the renderer, the classifier and the tests agree.
namespace tp::shapes {

struct Colour {
    const char* name;
    std::uint8_t r, g, b;
};

// Ten colours chosen to be far apart in RGB (smallest pairwise distance ~ 95 of 255).
const std::array<Colour, 10>& palette();
int colourCount();
// Index of `name` in the palette, or -1.
int colourIndex(const QString& name);
// Index of the palette colour nearest to (r, g, b) in 0..255 units, and its distance.
int nearestColour(double r, double g, double b, double* distance = nullptr);

enum class Shape { Circle, Square, Triangle, Star, Ring };
enum class Size { Small, Medium, Large };
// The 3x3 grid, row by row.
enum class Position { TopLeft, Top, TopRight, Left, Center, Right, BottomLeft, Bottom, BottomRight };

constexpr int ShapeCount = 5;
constexpr int SizeCount = 3;
constexpr int PositionCount = 9;

QString shapeName(Shape s);
QString sizeName(Size s);
// "in the top left corner", "at the top", ..., "in the center".
QString positionPhrase(Position p);
// Grid column (0..2) and row (0..2) of a position.
int positionColumn(Position p);
int positionRow(Position p);

// Nominal geometry (fractions of the image side). A shape's "radius" is the half extent of
// its bounding box; jitter moves and scales it a little without leaving its grid cell.
double sizeRadius(Size s);
// Centre of a grid cell (x, y).
std::array<double, 2> positionCentre(Position p);
constexpr double GridOffset = 0.27; // cell centres at 0.5 -/+ this
constexpr double MaxCentreJitter = 0.015;
constexpr double MaxScaleJitter = 0.06; // radius x (1 -/+ this)

struct Scene {
    int colour = 0;     // palette index of the shape
    int background = 4; // palette index of the background, != colour
    Shape shape = Shape::Circle;
    Size size = Size::Medium;
    Position position = Position::Center;
    // Rendering jitter: centre offset (fractions of the side) and radius factor.
    double dx = 0.0;
    double dy = 0.0;
    double scale = 1.0;
    // Wording: say "medium" / "in the center" explicitly (both are the default when omitted).
    bool sayMedium = false;
    bool sayCenter = false;

    // Centre and radius in fractions of the image side, jitter applied.
    double centreX() const;
    double centreY() const;
    double radius() const;
    bool sameContent(const Scene& o) const {
        return colour == o.colour && background == o.background && shape == o.shape && size == o.size &&
               position == o.position;
    }
};

// "a small yellow star in the top left corner on a black background"; "an orange ring on a
// white background" (size medium and position center omitted unless the scene says so).
QString caption(const Scene& scene);

// A deterministic generator that gives the same numbers on every platform (the standard
// distributions are implementation-defined, mt19937_64 itself is not).
class SceneSampler final {
public:
    explicit SceneSampler(std::uint64_t seed)
        : m_rng(seed) {}
    Scene next();
    std::uint64_t nextU64() { return m_rng(); }
    // Uniform in [0, 1).
    double uniform() { return double(m_rng() >> 11) * (1.0 / 9007199254740992.0); }
    int below(int n) { return int(m_rng() % std::uint64_t(n)); }
    std::mt19937_64& engine() { return m_rng; }
    const std::mt19937_64& engine() const { return m_rng; }

private:
    std::mt19937_64 m_rng;
};

// Every distinct content (colour x background x shape x size/position), without jitter and
// with the short wording; large shapes are only centred. 10*9*5*19 = 8550 scenes.
std::vector<Scene> allScenes();
// Every caption the generator can write (all wordings of all scenes).
QStringList allCaptions();
// A fixed, balanced list of test scenes: colours cycle fastest, every colour meets several
// shapes, backgrounds and sizes; about half are centred and medium (the plain prompts).
std::vector<Scene> evaluationScenes(int count);
// The scene a caption describes (exact grammar of caption(); case and spacing are ignored).
std::optional<Scene> parseCaption(const QString& caption);

} // namespace tp::shapes
