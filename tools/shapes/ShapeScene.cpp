#include "tools/shapes/ShapeScene.h"

#include <QHash>

#include <cmath>
#include <limits>

namespace tp::shapes {

const std::array<Colour, 10>& palette() {
    static const std::array<Colour, 10> colours{{
        {"red", 220, 30, 30},
        {"orange", 255, 130, 0},
        {"yellow", 250, 230, 30},
        {"green", 30, 160, 60},
        {"blue", 30, 80, 220},
        {"purple", 140, 30, 180},
        {"pink", 250, 130, 200},
        {"white", 245, 245, 245},
        {"black", 15, 15, 15},
        {"gray", 128, 128, 128},
    }};
    return colours;
}

int colourCount() {
    return int(palette().size());
}

int colourIndex(const QString& name) {
    for (int i = 0; i < colourCount(); ++i)
        if (name == QLatin1String(palette()[size_t(i)].name))
            return i;
    return -1;
}

int nearestColour(double r, double g, double b, double* distance) {
    int best = 0;
    double bestD = std::numeric_limits<double>::max();
    for (int i = 0; i < colourCount(); ++i) {
        const Colour& c = palette()[size_t(i)];
        const double d = (r - c.r) * (r - c.r) + (g - c.g) * (g - c.g) + (b - c.b) * (b - c.b);
        if (d < bestD) {
            bestD = d;
            best = i;
        }
    }
    if (distance)
        *distance = std::sqrt(bestD);
    return best;
}

QString shapeName(Shape s) {
    switch (s) {
    case Shape::Circle:
        return QStringLiteral("circle");
    case Shape::Square:
        return QStringLiteral("square");
    case Shape::Triangle:
        return QStringLiteral("triangle");
    case Shape::Star:
        return QStringLiteral("star");
    case Shape::Ring:
        return QStringLiteral("ring");
    }
    return {};
}

QString sizeName(Size s) {
    switch (s) {
    case Size::Small:
        return QStringLiteral("small");
    case Size::Medium:
        return QStringLiteral("medium");
    case Size::Large:
        return QStringLiteral("large");
    }
    return {};
}

QString positionPhrase(Position p) {
    switch (p) {
    case Position::TopLeft:
        return QStringLiteral("in the top left corner");
    case Position::Top:
        return QStringLiteral("at the top");
    case Position::TopRight:
        return QStringLiteral("in the top right corner");
    case Position::Left:
        return QStringLiteral("on the left");
    case Position::Center:
        return QStringLiteral("in the center");
    case Position::Right:
        return QStringLiteral("on the right");
    case Position::BottomLeft:
        return QStringLiteral("in the bottom left corner");
    case Position::Bottom:
        return QStringLiteral("at the bottom");
    case Position::BottomRight:
        return QStringLiteral("in the bottom right corner");
    }
    return {};
}

int positionColumn(Position p) {
    return int(p) % 3;
}
int positionRow(Position p) {
    return int(p) / 3;
}

double sizeRadius(Size s) {
    switch (s) {
    case Size::Small:
        return 0.11;
    case Size::Medium:
        return 0.18;
    case Size::Large:
        return 0.33;
    }
    return 0.18;
}

std::array<double, 2> positionCentre(Position p) {
    return {0.5 + GridOffset * (positionColumn(p) - 1), 0.5 + GridOffset * (positionRow(p) - 1)};
}

double Scene::centreX() const {
    return positionCentre(position)[0] + dx;
}
double Scene::centreY() const {
    return positionCentre(position)[1] + dy;
}
double Scene::radius() const {
    return sizeRadius(size) * scale;
}

namespace {

// "an " before a vowel ("an orange ring"), else "a ".
QString article(const QString& nextWord) {
    static const QString vowels = QStringLiteral("aeiou");
    return (!nextWord.isEmpty() && vowels.contains(nextWord.front())) ? QStringLiteral("an ")
                                                                      : QStringLiteral("a ");
}

} // namespace

QString caption(const Scene& scene) {
    QString sizeWord;
    if (scene.size != Size::Medium || scene.sayMedium)
        sizeWord = sizeName(scene.size);
    const QString colour = QLatin1String(palette()[size_t(scene.colour)].name);
    QString text = article(sizeWord.isEmpty() ? colour : sizeWord);
    if (!sizeWord.isEmpty())
        text += sizeWord + QLatin1Char(' ');
    text += colour + QLatin1Char(' ') + shapeName(scene.shape);
    if (scene.position != Position::Center || scene.sayCenter)
        text += QLatin1Char(' ') + positionPhrase(scene.position);
    const QString background = QLatin1String(palette()[size_t(scene.background)].name);
    text += QStringLiteral(" on ") + article(background) + background + QStringLiteral(" background");
    return text;
}

Scene SceneSampler::next() {
    Scene s;
    s.colour = below(colourCount());
    s.background = below(colourCount() - 1);
    if (s.background >= s.colour)
        ++s.background;
    s.shape = Shape(below(ShapeCount));
    // Plain prompts ("a red circle on a blue background") mean medium and centred: give
    // those a little more weight than a uniform draw would.
    const double u = uniform();
    s.size = u < 0.35 ? Size::Small : (u < 0.8 ? Size::Medium : Size::Large);
    if (s.size == Size::Large || uniform() < 0.2) {
        s.position = Position::Center;
    } else {
        int p = below(PositionCount - 1);
        if (p >= int(Position::Center))
            ++p;
        s.position = Position(p);
    }
    s.dx = (2.0 * uniform() - 1.0) * MaxCentreJitter;
    s.dy = (2.0 * uniform() - 1.0) * MaxCentreJitter;
    s.scale = 1.0 + (2.0 * uniform() - 1.0) * MaxScaleJitter;
    s.sayMedium = s.size == Size::Medium && uniform() < 0.3;
    s.sayCenter = s.position == Position::Center && uniform() < 0.3;
    return s;
}

std::vector<Scene> allScenes() {
    std::vector<Scene> scenes;
    scenes.reserve(8550);
    for (int c = 0; c < colourCount(); ++c)
        for (int b = 0; b < colourCount(); ++b) {
            if (b == c)
                continue;
            for (int sh = 0; sh < ShapeCount; ++sh)
                for (int sz = 0; sz < SizeCount; ++sz)
                    for (int p = 0; p < PositionCount; ++p) {
                        if (Size(sz) == Size::Large && Position(p) != Position::Center)
                            continue;
                        Scene s;
                        s.colour = c;
                        s.background = b;
                        s.shape = Shape(sh);
                        s.size = Size(sz);
                        s.position = Position(p);
                        scenes.push_back(s);
                    }
        }
    return scenes;
}

std::vector<Scene> evaluationScenes(int count) {
    std::vector<Scene> out;
    const int n = colourCount();
    for (int i = 0; i < count; ++i) {
        Scene s;
        s.colour = i % n;
        s.shape = Shape((i + i / n) % ShapeCount);
        s.background = (s.colour + 1 + (i / n) * 3 + (i % 3)) % n;
        if (s.background == s.colour)
            s.background = (s.background + 1) % n;
        switch (i % 4) {
        case 0:
        case 2:
            s.size = Size::Medium;
            break;
        case 1:
            s.size = Size::Small;
            break;
        default:
            s.size = Size::Large;
            break;
        }
        // Half of the small and medium ones off centre, visiting all eight other cells.
        const Position cells[] = {Position::TopLeft, Position::Top,        Position::TopRight,
                                  Position::Left,    Position::Right,      Position::BottomLeft,
                                  Position::Bottom,  Position::BottomRight};
        if (i % 4 == 1)
            s.position = cells[(i / 4) % 8];
        else if (i % 4 == 2)
            s.position = cells[(i / 4 + 4) % 8];
        out.push_back(s);
    }
    return out;
}

namespace {

std::vector<Scene> wordings(const Scene& base) {
    std::vector<Scene> out{base};
    if (base.size == Size::Medium) {
        Scene s = base;
        s.sayMedium = true;
        out.push_back(s);
    }
    if (base.position == Position::Center) {
        const size_t n = out.size();
        for (size_t i = 0; i < n; ++i) {
            Scene s = out[i];
            s.sayCenter = true;
            out.push_back(s);
        }
    }
    return out;
}

QString normalise(const QString& text) {
    QString t = text.simplified().toLower();
    while (t.endsWith(QLatin1Char('.')))
        t.chop(1);
    return t;
}

const QHash<QString, Scene>& captionIndex() {
    static const QHash<QString, Scene> index = [] {
        QHash<QString, Scene> h;
        for (const Scene& s : allScenes())
            for (const Scene& w : wordings(s))
                h.insert(caption(w), w);
        return h;
    }();
    return index;
}

} // namespace

QStringList allCaptions() {
    QStringList out;
    for (const Scene& s : allScenes())
        for (const Scene& w : wordings(s))
            out.append(caption(w));
    return out;
}

std::optional<Scene> parseCaption(const QString& text) {
    const auto& index = captionIndex();
    const auto it = index.constFind(normalise(text));
    if (it == index.constEnd())
        return std::nullopt;
    return *it;
}

} // namespace tp::shapes
