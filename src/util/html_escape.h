// Escaping text for HTML element content and double-quoted attributes (the HTML reports of
// bench and plan): & < > " become entities, everything else is copied.
#pragma once

#include <string>

namespace tenbin {

std::string html_escape(const std::string& s);

}  // namespace tenbin
