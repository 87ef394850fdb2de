// xml.hpp (private to src/lib/s3): the little pugixml glue the S3 client needs to write
// request bodies, and the two reading steps every response parser shares (the pure
// functions of documents.hpp and bucket_documents.hpp).
#pragma once

#include <pugixml.hpp>

#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

#include "../util/utf8.hpp"
#include "worm/error.hpp"

namespace worm::s3::detail {

inline constexpr const char* s3_xmlns = "http://s3.amazonaws.com/doc/2006-03-01/";

// The text of `node`'s child `name`, "" when there is none.
inline std::string text_of(const pugi::xml_node& node, const char* name) { return node.child(name).text().as_string(); }

// Loads an S3 answer, or returns why it is refused. S3 documents are UTF-8 and never carry a
// DTD: a <!DOCTYPE> (entity definitions, the "billion laughs") or bytes that are not UTF-8
// (a key no caller could represent) come from a broken or hostile server. pugixml never
// expands entities a DTD defines; refusing the document says so instead of handing on the
// literal "&name;" text.
inline std::optional<std::string> load_s3_xml(pugi::xml_document& doc, std::string_view body) {
    if (const std::size_t bad = worm::detail::find_invalid_utf8(body); bad != worm::detail::kValidUtf8)
        return "it is not valid UTF-8 at byte " + std::to_string(bad);
    const pugi::xml_parse_result r = doc.load_buffer(body.data(), body.size(), pugi::parse_default | pugi::parse_doctype,
                                                     pugi::encoding_utf8);
    if (!r) return std::string(r.description()) + " at offset " + std::to_string(r.offset);
    for (const pugi::xml_node node : doc.children())
        if (node.type() == pugi::node_doctype) return "it has a document type declaration (<!DOCTYPE>)";
    return std::nullopt;
}

// The document element of `body` if it is one of `roots`; Error(parse) naming `operation` otherwise.
inline pugi::xml_node root_of(pugi::xml_document& doc, std::string_view body, std::string_view operation,
                              std::initializer_list<std::string_view> roots) {
    if (const auto refused = load_s3_xml(doc, body))
        throw Error(ErrorCode::parse, "cannot parse the " + std::string(operation) + " response as S3 XML: " + *refused);
    const pugi::xml_node root = doc.document_element();
    for (const std::string_view name : roots)
        if (name == root.name()) return root;
    std::string message = std::string(operation) + " was answered with <" + root.name() + "> instead of <" +
                          std::string(*roots.begin()) + ">";
    // Ceph RGW 16 answers sub-resources it does not know (?encryption) by listing the bucket.
    if (std::string_view(root.name()) == "ListBucketResult") message += ", a bucket listing (the server does not support it)";
    throw Error(ErrorCode::parse, message);
}

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
