// xml.hpp (private to src/lib/s3): the little pugixml glue the S3 client needs to write
// request bodies, and the two reading steps every response parser shares (the pure
// functions of documents.hpp and bucket_documents.hpp).
#pragma once

#include <pugixml.hpp>

#include <initializer_list>
#include <string>
#include <string_view>

#include "worm/error.hpp"

namespace worm::s3::detail {

inline constexpr const char* s3_xmlns = "http://s3.amazonaws.com/doc/2006-03-01/";

// The text of `node`'s child `name`, "" when there is none.
inline std::string text_of(const pugi::xml_node& node, const char* name) { return node.child(name).text().as_string(); }

// The document element of `body` if it is one of `roots`; Error(parse) naming `operation` otherwise.
inline pugi::xml_node root_of(pugi::xml_document& doc, std::string_view body, std::string_view operation,
                              std::initializer_list<std::string_view> roots) {
    const pugi::xml_parse_result r = doc.load_buffer(body.data(), body.size());
    if (!r)
        throw Error(ErrorCode::parse, "cannot parse the " + std::string(operation) + " response as XML: " +
                                          r.description() + " at offset " + std::to_string(r.offset));
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
