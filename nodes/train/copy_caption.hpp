// The caption of a recoloured copy (presence.load_dataset, colour_copies): the original's without
// the phrases that name the colours the copy no longer has. No LibTorch.
#pragma once

#include <string>

#include "presence/data/dataset.hpp"

namespace presence::nodes::train {

/// `clip`'s caption text without its scene (the backdrop's colour) and without each subject's
/// appearance (hair, skin and eye colours), each phrase removed with the ", " or ". " that follows
/// it. Throws core::InputError naming the clip, the subject and the phrase when the caption does
/// not hold a non-empty phrase word for word (a free-form caption cannot be cut safely).
std::string captionWithoutLooks(const presence::data::Clip& clip);

}  // namespace presence::nodes::train
