// The certificate drawn for people: A4 pages rendered with cairo's PDF surface.
#include "certificate_pdf.hpp"

#include <cairo-pdf.h>
#include <cairo.h>

#include <algorithm>
#include <memory>
#include <set>
#include <vector>

#include "json_read.hpp"
#include "report_wording.hpp"
#include "worm/error.hpp"
#include "worm/json.hpp"

namespace worm::compliance::detail {

namespace {

constexpr double kPageWidth = 595.28;  // A4 in points
constexpr double kPageHeight = 841.89;
constexpr double kMargin = 56;
constexpr double kBottom = kPageHeight - 56;
constexpr double kValueColumn = 172;  // where values start, from the margin

cairo_status_t append_to_string(void* closure, const unsigned char* data, unsigned int length) {
    static_cast<std::string*>(closure)->append(reinterpret_cast<const char*>(data), length);
    return CAIRO_STATUS_SUCCESS;
}

// Splits text into lines of at most width characters, at spaces where it can.
std::vector<std::string> wrap(const std::string& text, std::size_t width) {
    std::vector<std::string> lines;
    std::string line;
    std::size_t start = 0;
    while (start < text.size()) {
        std::size_t end = text.find(' ', start);
        if (end == std::string::npos) end = text.size();
        std::string word = text.substr(start, end - start);
        start = end + 1;
        while (word.size() > width) {  // a hash or key longer than a line
            if (!line.empty()) lines.push_back(std::move(line)), line.clear();
            lines.push_back(word.substr(0, width));
            word = word.substr(width);
        }
        if (!line.empty() && line.size() + 1 + word.size() > width) lines.push_back(std::move(line)), line.clear();
        line += (line.empty() ? "" : " ") + word;
    }
    if (!line.empty()) lines.push_back(line);
    return lines;
}

// A value in words: a string or number as it is, an object as "label value, ..." (never JSON).
std::string text_of(const rapidjson::Value* v) {
    if (!v || v->IsNull()) return "none";
    if (v->IsString()) return std::string(v->GetString(), v->GetStringLength());
    if (v->IsBool()) return v->GetBool() ? "yes" : "no";
    if (v->IsObject()) {
        std::string out;
        for (const auto& m : v->GetObject())
            out += (out.empty() ? "" : ", ") + inventory_label(std::string_view(m.name.GetString(), m.name.GetStringLength())) +
                   " " + text_of(&m.value);
        return out.empty() ? "none" : out;
    }
    if (v->IsArray()) {
        std::string out;
        for (const auto& item : v->GetArray()) out += (out.empty() ? "" : ", ") + text_of(&item);
        return out.empty() ? "none" : out;
    }
    return json::to_compact(*v);  // a number
}

std::string time_or_none(const rapidjson::Value& obj, std::string_view name) {
    const auto* v = json::find_member(obj, name);
    return v && v->IsString() ? std::string(v->GetString(), v->GetStringLength()) : std::string();
}

// Draws lines top to bottom, starting a new page when one is full.
class Page {
public:
    explicit Page(cairo_t* cr) : cr_(cr) {}

    void title(const std::string& text) { line(text, 20, true, false, 30); }
    void heading(const std::string& text) {
        y_ += 8;
        line(text, 12, true, false, 18);
    }
    void field(const std::string& label, const std::string& value, bool mono = false) {
        // Hashes and fingerprints ("sha256:" + 64 hex) fit on one line in the mono size.
        const std::size_t width = mono ? 76 : 58;
        const auto lines = wrap(value, width);
        // A label wider than its column gets a line of its own, the value below it.
        if (label_width(label + ":") > kValueColumn - 6 && !lines.empty()) {
            ensure_room(26);
            draw(label + ":", kMargin, 9.5, true, false);
            y_ += 13;
        } else if (!lines.empty()) {
            ensure_room(13);
            draw(label + ":", kMargin, 9.5, true, false);
        }
        for (std::size_t i = 0; i < lines.size(); ++i) {
            ensure_room(13);
            draw(lines[i], kMargin + kValueColumn, mono ? 7.5 : 9.5, false, mono);
            y_ += 13;
        }
    }
    // A row of a small table: cells at fixed columns, the header row bold.
    void table_row(const std::vector<std::string>& cells, bool header, const std::string& label = "") {
        ensure_room(13);
        if (!label.empty()) draw(label + ":", kMargin, 9.5, true, false);
        double x = kMargin + kValueColumn;
        for (const auto& c : cells) {
            draw(c, x, 9.5, header, false);
            x += 110;
        }
        y_ += 13;
    }
    void bullet(const std::string& text) {
        const auto lines = wrap(text, 92);
        for (std::size_t i = 0; i < lines.size(); ++i) {
            ensure_room(13);
            if (i == 0) draw("-", kMargin + 4, 9.5, false, false);
            draw(lines[i], kMargin + 16, 9.5, false, false);
            y_ += 13;
        }
    }
    void paragraph(const std::string& text, double size = 9.5) {
        for (const auto& l : wrap(text, 100)) line(l, size, false, false, 13);
    }

private:
    void line(const std::string& text, double size, bool bold, bool mono, double advance) {
        ensure_room(advance);
        draw(text, kMargin, size, bold, mono);
        y_ += advance;
    }
    double label_width(const std::string& text) {
        cairo_select_font_face(cr_, "DejaVu Sans", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_BOLD);
        cairo_set_font_size(cr_, 9.5);
        cairo_text_extents_t extents;
        cairo_text_extents(cr_, text.c_str(), &extents);
        return extents.x_advance;
    }
    void draw(const std::string& text, double x, double size, bool bold, bool mono) {
        cairo_select_font_face(cr_, mono ? "DejaVu Sans Mono" : "DejaVu Sans", CAIRO_FONT_SLANT_NORMAL,
                               bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
        cairo_set_font_size(cr_, size);
        cairo_move_to(cr_, x, y_);
        cairo_show_text(cr_, text.c_str());
    }
    void ensure_room(double advance) {
        if (y_ + advance <= kBottom) return;
        cairo_show_page(cr_);
        y_ = kMargin + 10;
    }

    cairo_t* cr_;
    double y_ = kMargin + 10;
};

}  // namespace

std::string render_certificate_pdf(const rapidjson::Value& cert, const std::string& figures) {
    std::string pdf;
    std::unique_ptr<cairo_surface_t, decltype(&cairo_surface_destroy)> surface(
        cairo_pdf_surface_create_for_stream(append_to_string, &pdf, kPageWidth, kPageHeight), cairo_surface_destroy);
    const std::string id = get_string(cert, "certificate_id");
    cairo_pdf_surface_set_metadata(surface.get(), CAIRO_PDF_METADATA_TITLE, ("Evidence certificate " + id).c_str());
    cairo_pdf_surface_set_metadata(surface.get(), CAIRO_PDF_METADATA_CREATOR, "libworm");
    cairo_pdf_surface_set_metadata(surface.get(), CAIRO_PDF_METADATA_KEYWORDS, figures.c_str());
    std::unique_ptr<cairo_t, decltype(&cairo_destroy)> cr(cairo_create(surface.get()), cairo_destroy);
    cairo_set_source_rgb(cr.get(), 0.1, 0.1, 0.1);

    Page page(cr.get());
    page.title("Evidence Retention Certificate");
    page.field("Certificate ID", id);
    page.field("Issued", get_string(cert, "issued_at"));
    page.field("Valid until", get_string(cert, "valid_until"));
    page.field("Signing key", get_string(cert, "signing_key_fingerprint"), true);
    const auto* tool = json::find_member(cert, "tool");
    page.field("Tool", tool ? get_string(*tool, "name") + " " + get_string(*tool, "version") : "unknown");

    const auto* audit = json::find_member(cert, "audit");
    const bool clean = audit && get_string(*audit, "result") == "clean";
    page.heading("Result");
    page.paragraph(clean ? "Clean: every audited bundle verified and is locked as the policy requires."
                         : "Failures found: see Failures and Recommendations below.");
    if (audit) {
        page.field("Audited", get_string(*audit, "started_at") + " to " + get_string(*audit, "finished_at"));
        const auto* range = json::find_member(*audit, "range");
        page.field("Date range", range && range->IsObject()
                                     ? date_range_text(time_or_none(*range, "from"), time_or_none(*range, "to"))
                                     : date_range_text("", ""));
        if (const auto* policy = json::find_member(*audit, "policy"); policy && policy->IsObject()) {
            const std::string mode = get_string(*policy, "mode");
            page.field("Policy", (mode.empty() ? std::string("any lock mode") : mode + " mode") + ", retained at least " +
                                     std::to_string(get_int(*policy, "min_retention_days")) + " days after upload");
        }
    }

    page.heading("Storage");
    if (const auto* store = json::find_member(cert, "store"); store && store->IsObject())
        for (const auto& [name, label] : {std::pair{"source", "Source"}, std::pair{"endpoint", "Endpoint"},
                                          std::pair{"bucket", "Bucket"}, std::pair{"prefix", "Prefix"}}) {
            const std::string v = get_string(*store, name);
            if (!v.empty()) page.field(label, v);
        }
    page.field("Manifest SHA-256", get_string(cert, "manifest_sha256"), true);
    if (audit) page.field("Audit report SHA-256", get_string(*audit, "report_sha256"), true);

    const auto* inv = json::find_member(cert, "inventory");
    if (inv && inv->IsObject()) {
        page.heading("What was observed");
        for (const auto name : inventory_order()) {
            if (name == "modes" || name == "earliest_retain_until" || name == "latest_retain_until") continue;
            if (const auto* v = json::find_member(*inv, name)) page.field(inventory_label(name), text_of(v));
        }
        for (const auto& m : inv->GetObject()) {  // members a newer report adds
            const std::string_view name(m.name.GetString(), m.name.GetStringLength());
            if (std::find(inventory_order().begin(), inventory_order().end(), name) == inventory_order().end())
                page.field(inventory_label(name), text_of(&m.value));
        }

        page.heading("Retention");
        page.field("Earliest retain-until", text_of(json::find_member(*inv, "earliest_retain_until")));
        page.field("Latest retain-until", text_of(json::find_member(*inv, "latest_retain_until")));
        if (const auto* modes = json::find_member(*inv, "modes"); modes && modes->IsObject()) {
            page.table_row({"Lock mode", "Bundles"}, true, "Lock modes");
            for (const auto& m : modes->GetObject())
                page.table_row({lock_mode_label(std::string_view(m.name.GetString(), m.name.GetStringLength())),
                                text_of(&m.value)},
                               false);
        }
    }

    if (const auto* evidence = json::find_member(cert, "evidence"); evidence && evidence->IsArray() && !evidence->Empty()) {
        page.heading("Evidence covered: " + std::to_string(evidence->Size()));
        for (const auto& e : evidence->GetArray()) {
            page.field("Evidence ID", get_string(e, "evidence_id"));
            page.field("Object", get_string(e, "object_key"));
            page.field("SHA-256", get_string(e, "sha256"), true);
            const auto* compliant = json::find_member(e, "compliant");
            page.field("Lock", (get_string(e, "lock_mode").empty() ? std::string("not locked") : get_string(e, "lock_mode")) +
                                   " until " + text_of(json::find_member(e, "retain_until")) + "; " +
                                   (compliant && compliant->IsBool() && compliant->GetBool() ? "compliant" : "NOT compliant"));
        }
    }

    if (const auto* db = json::find_member(cert, "database"); db && db->IsObject()) {
        page.heading("Evidence database");
        page.field("Database", get_string(*db, "url"));
        for (const auto& [name, label] :
             {std::pair{"rows", "Rows compared"}, std::pair{"matched", "Rows matching the store"},
              std::pair{"rows_without_objects", "Rows without an object"},
              std::pair{"objects_without_rows", "Objects without a row"},
              std::pair{"sha256_mismatches", "SHA-256 disagreements"},
              std::pair{"retention_mismatches", "Retain-until disagreements"}})
            page.field(label, std::to_string(get_int(*db, name)));
    }

    bool bucket_failed = false;
    const auto* bucket = json::find_member(cert, "bucket_verification");
    if (bucket && bucket->IsObject())
        if (const auto* checks = json::find_member(*bucket, "checks"); checks && checks->IsArray()) {
            page.heading("Checks");
            for (const auto& c : checks->GetArray()) {
                const std::string status = get_string(c, "status");
                bucket_failed = bucket_failed || status == "fail";
                page.field(get_string(c, "title", get_string(c, "id")),
                           check_status_text(status) + " (observed: " + get_string(c, "observed") + ")");
            }
        }

    std::set<std::string> failed_checks;
    if (const auto* failures = json::find_member(cert, "failures"); failures && failures->IsArray()) {
        page.heading("Failures: " + std::to_string(failures->Size()));
        if (failures->Empty()) page.paragraph("None.");
        rapidjson::SizeType shown = 0;
        for (const auto& f : failures->GetArray()) {
            failed_checks.insert(get_string(f, "check"));
            if (shown++ == 20) continue;  // the rest are in certificate.json; the checks still count
            page.paragraph(get_string(f, "key") + " [" + check_label(get_string(f, "check")) + "] " + get_string(f, "reason"),
                           8.5);
        }
        if (failures->Size() > 20)
            page.paragraph("... and " + std::to_string(failures->Size() - 20) + " more (see certificate.json)");
    }

    page.heading("Recommendations");
    for (const auto& r : recommendations(failed_checks, bucket_failed)) page.bullet(r);

    page.heading("Signatures");
    if (const auto* sig = json::find_member(cert, "pdf_signature"); sig && sig->IsObject()) {
        page.field("PDF signed by", get_string(*sig, "certificate_subject"));
        page.field("Its certificate", get_string(*sig, "certificate_sha256"), true);
    }
    page.paragraph("This PDF carries its own signature (any PDF reader shows it; pdfsig certificate.pdf). Its "
                   "certificate is named in certificate.json, which is signed with the Ed25519 key above.",
                   8.5);

    page.heading("Statement");
    page.paragraph(get_string(cert, "statement"));
    page.paragraph("Verify: worm certificate verify --key public.pem DIR, or openssl pkeyutl -verify -rawin with "
                   "certificate.json and certificate.sig.",
                   8.5);

    cairo_show_page(cr.get());
    cr.reset();
    cairo_surface_finish(surface.get());
    if (cairo_surface_status(surface.get()) != CAIRO_STATUS_SUCCESS)
        throw Error(ErrorCode::internal, std::string("cairo could not render the certificate PDF: ") +
                                             cairo_status_to_string(cairo_surface_status(surface.get())));
    return pdf;
}

std::optional<std::string> pdf_keywords(std::string_view pdf) {
    constexpr std::string_view marker = "/Keywords (";
    const std::size_t at = pdf.find(marker);
    if (at == std::string_view::npos) return std::nullopt;
    std::string out;
    for (std::size_t i = at + marker.size(); i < pdf.size(); ++i) {
        const char c = pdf[i];
        if (c == '\\' && i + 1 < pdf.size()) {
            out += pdf[++i];
        } else if (c == ')') {
            return out;
        } else {
            out += c;
        }
    }
    return std::nullopt;
}

}  // namespace worm::compliance::detail
