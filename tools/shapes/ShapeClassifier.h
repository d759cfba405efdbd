#pragma once

#include "tools/shapes/ShapeScene.h"

#include <QImage>
#include <QString>

// Reads a scene back from a picture, without any learning: the background colour from the
// border, the shape as the largest region of pixels nearer to the shape colour than to the
// background, the shape kind from its bounding-box fill, convexity and holes, its size from
// its extent and its position from its centre. Used to check the generator (it must read
// its own images almost perfectly) and to judge what the trained model draws.
namespace tp::shapes {

struct Classification {
    bool found = false; // false: no region stands out from the background
    int colour = -1;    // palette indices (nearest palette colour of the region means)
    int background = -1;
    Shape shape = Shape::Circle;
    Size size = Size::Medium;
    Position position = Position::Center;
    // Measurements behind the decision.
    double fill = 0.0;      // region area / bounding-box area
    double solidity = 0.0;  // (area + holes) / convex hull area
    double holeRatio = 0.0; // enclosed background / bounding-box area
    double extent = 0.0;    // max(bbox w, h) / image side
    double centreX = 0.0;   // bbox centre, fractions of the side
    double centreY = 0.0;
    double colourDistance = 0.0;     // RGB distance of the region mean to its palette colour
    double backgroundDistance = 0.0; // same for the background

    // "small red star in the top left corner on a black background (fill 0.39 ...)".
    QString describe() const;
};

Classification classify(const QImage& image);

} // namespace tp::shapes
