// The certificate drawn for people: A4 pages rendered with cairo's PDF surface.
#include "certificate_pdf.hpp"

#include <cairo-pdf.h>
#include <cairo.h>

#include <memory>
#include <vector>

#include "json_build.hpp"
#include "worm/error.hpp"
#include "worm/json.hpp"

namespace worm::compliance::detail {

namespace {

constexpr double kPageWidth = 595.28;  // A4 in points
constexpr double kPageHeight = 841.89;
constexpr double kMargin = 56;
constexpr double kBottom = kPageHeight - 56;

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

std::string text_of(const rapidjson::Value* v) {
    if (!v || v->IsNull()) return "-";
    if (v->IsString()) return std::string(v->GetString(), v->GetStringLength());
    return json::to_compact(*v);
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
        const std::size_t width = mono ? 76 : 70;
        const auto lines = wrap(value, width);
        for (std::size_t i = 0; i < lines.size(); ++i) {
            ensure_room(13);
            if (i == 0) draw(label + ":", kMargin, 9.5, true, false);
            draw(lines[i], kMargin + 120, mono ? 7.5 : 9.5, false, mono);
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
    page.field("Tool", tool ? get_string(*tool, "name") + " " + get_string(*tool, "version") : "-");

    page.heading("Store");
    if (const auto* store = json::find_member(cert, "store"); store && store->IsObject())
        for (const char* name : {"source", "endpoint", "bucket", "prefix"}) {
            const std::string v = get_string(*store, name);
            if (!v.empty()) page.field(name, v);
        }

    page.heading("What was observed");
    const auto* audit = json::find_member(cert, "audit");
    page.field("Result", audit ? get_string(*audit, "result") : "-");
    if (const auto* inv = json::find_member(cert, "inventory"); inv && inv->IsObject())
        for (const auto& m : inv->GetObject())
            page.field(std::string(m.name.GetString(), m.name.GetStringLength()), text_of(&m.value));
    page.field("Manifest SHA-256", get_string(cert, "manifest_sha256"), true);
    if (audit) page.field("Audit report SHA-256", get_string(*audit, "report_sha256"), true);

    const auto* bucket = json::find_member(cert, "bucket_verification");
    if (bucket && bucket->IsObject())
        if (const auto* checks = json::find_member(*bucket, "checks"); checks && checks->IsArray()) {
            page.heading("Bucket checks");
            for (const auto& c : checks->GetArray())
                page.field(get_string(c, "id"), get_string(c, "status") + " (observed: " + get_string(c, "observed") + ")");
        }

    if (const auto* failures = json::find_member(cert, "failures"); failures && failures->IsArray()) {
        page.heading("Failures: " + std::to_string(failures->Size()));
        rapidjson::SizeType shown = 0;
        for (const auto& f : failures->GetArray()) {
            if (shown++ == 20) {
                page.paragraph("... and " + std::to_string(failures->Size() - 20) + " more (see certificate.json)");
                break;
            }
            page.paragraph(get_string(f, "key") + " [" + get_string(f, "check") + "] " + get_string(f, "reason"), 8.5);
        }
    }

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
