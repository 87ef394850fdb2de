// xml.hpp (private to src/lib/s3): the little pugixml glue the S3 client needs to write
// request bodies. Responses are read by the pure functions of documents.hpp.
#pragma once

#include <pugixml.hpp>

#include <string>

namespace worm::s3::detail {

inline constexpr const char* s3_xmlns = "http://s3.amazonaws.com/doc/2006-03-01/";

// A document root with the S3 namespace.
inline pugi::xml_node s3_root(pugi::xml_document& doc, const char* name) {
    pugi::xml_node root = doc.append_child(name);
    root.append_attribute("xmlns") = s3_xmlns;
    return root;
}

inline void add_text(pugi::xml_node parent, const char* name, const std::string& value) {
    parent.append_child(name).text().set(value.c_str());
}

inline std::string to_string(const pugi::xml_document& doc) {
    struct Writer : pugi::xml_writer {
        std::string out;
        void write(const void* data, size_t size) override { out.append(static_cast<const char*>(data), size); }
    } writer;
    doc.save(writer, "", pugi::format_raw | pugi::format_no_declaration, pugi::encoding_utf8);
    return writer.out;
}

}  // namespace worm::s3::detail
