// certificate_pdf.hpp: the PDF rendering of a certificate (cairo), and reading back the
// figures line it carries in its Keywords metadata.
#pragma once

#include <rapidjson/document.h>

#include <optional>
#include <string>
#include <string_view>

namespace worm::compliance::detail {

// The PDF's bytes: one or two A4 pages stating the certificate for people, with
// `figures` as the document's Keywords. Throws Error(internal) when cairo fails.
std::string render_certificate_pdf(const rapidjson::Value& certificate, const std::string& figures);

// The Keywords string of a PDF cairo wrote (a literal string in the document info), or
// nullopt when there is none.
std::optional<std::string> pdf_keywords(std::string_view pdf);

}  // namespace worm::compliance::detail
