"""Conan 2 recipe for libworm, built from this source tree:

    conan create . -o "worm/*:proxy=True" -o "worm/*:python=True" --build=missing

Consumers: find_package(worm CONFIG) and target worm::worm (CMakeDeps), or one component
(worm::core, worm::s3, worm::uploader, worm::audit_log, worm::compliance), or pkg-config
`worm` / `worm-<component>` (PkgConfigDeps). Options s3, uploader, audit_log and compliance
(default True) leave a component and its dependencies out: -o "worm/*:s3=False" ... gives
worm::core alone (OpenSSL and RapidJSON only). The dependency list must match CMakeLists.txt:
tests/packaging/check_recipes.py checks it.
"""

from conan import ConanFile
from conan.errors import ConanInvalidConfiguration
from conan.tools.build import check_min_cppstd
from conan.tools.cmake import CMake, CMakeDeps, CMakeToolchain, cmake_layout
from conan.tools.files import copy


class WormConan(ConanFile):
    name = "worm"
    version = "0.1.0"
    license = "Apache-2.0"
    description = ("libworm: signed JSON evidence bundles stored write-once "
                   "(S3 Object Lock, a proxy, or a local WORM store)")
    topics = ("compliance", "worm", "s3", "object-lock", "ed25519", "evidence")
    package_type = "library"
    settings = "os", "arch", "compiler", "build_type"
    options = {"shared": [True, False], "fPIC": [True, False], "python": [True, False], "proxy": [True, False],
               "s3": [True, False], "uploader": [True, False], "audit_log": [True, False], "compliance": [True, False]}
    default_options = {"shared": False, "fPIC": True, "python": False, "proxy": False,
                       "s3": True, "uploader": True, "audit_log": True, "compliance": True}
    # component -> the components it uses (cmake/sources.cmake, WORM_<c>_USES)
    _uses = {"s3": [], "uploader": ["s3"], "audit_log": ["s3"], "compliance": ["s3", "uploader"]}
    exports_sources = ("CMakeLists.txt", "LICENSE", "cmake/*", "include/*", "src/*", "bindings/*",
                       "schemas/*", "examples/data/*")

    def config_options(self):
        if self.settings.os == "Windows":
            del self.options.fPIC

    def configure(self):
        if self.options.shared:
            self.options.rm_safe("fPIC")

    def layout(self):
        cmake_layout(self)

    def _all_components(self):
        return all(bool(self.options.get_safe(c)) for c in self._uses)

    def requirements(self):
        self.requires("openssl/[>=3 <4]")
        self.requires("libsodium/[>=1.0.18 <2]")  # cosign's encrypted private keys (core)
        self.requires("rapidjson/cci.20230929", transitive_headers=True)  # json.hpp includes it
        if self.options.s3:
            self.requires("libcurl/[>=7.78 <9]")
            self.requires("pugixml/[>=1.13 <2]")
        if self.options.uploader:
            self.requires("sqlite3/[>=3.40 <4]")
            self.requires("boost/[>=1.74 <2]")  # header-only parts: asio (uploader), beast (proxy)
        if self.options.compliance:
            self.requires("cairo/[>=1.16 <2]")  # the compliance certificate PDF
            self.requires("libpq/[>=15 <18]")  # the evidence database on PostgreSQL
        if self.options.python:
            self.requires("pybind11/[>=2.10 <3]")

    def validate(self):
        check_min_cppstd(self, 20)
        for component, uses in self._uses.items():
            for used in uses:
                if self.options.get_safe(component) and not self.options.get_safe(used):
                    raise ConanInvalidConfiguration(f"worm:{component}=True needs worm:{used}=True")
        if (self.options.proxy or self.options.python) and not self._all_components():
            raise ConanInvalidConfiguration("worm:proxy and worm:python need every component")

    def generate(self):
        toolchain = CMakeToolchain(self)
        for component in self._uses:
            toolchain.cache_variables[f"WORM_WITH_{component.upper()}"] = bool(self.options.get_safe(component))
        toolchain.cache_variables["WORM_BUILD_CLI"] = self._all_components()  # the CLI uses every component
        toolchain.cache_variables["WORM_BUILD_PROXY"] = bool(self.options.proxy)
        toolchain.cache_variables["WORM_BUILD_PYTHON"] = bool(self.options.python)
        toolchain.cache_variables["WORM_BUILD_TESTS"] = False
        toolchain.cache_variables["WORM_BUILD_EXAMPLES"] = False
        toolchain.cache_variables["WORM_BUILD_BENCH"] = False
        toolchain.cache_variables["WORM_INSTALL"] = True
        toolchain.generate()
        CMakeDeps(self).generate()

    def build(self):
        cmake = CMake(self)
        cmake.configure()
        cmake.build()

    def package(self):
        copy(self, "LICENSE", self.source_folder, f"{self.package_folder}/licenses")
        CMake(self).install()

    def package_info(self):
        self.cpp_info.set_property("cmake_file_name", "worm")
        self.cpp_info.set_property("cmake_target_name", "worm::worm")
        self.cpp_info.set_property("pkg_config_name", "worm")
        # One component per library (a shared build is one libworm.so for all of them).
        requires = {"core": ["openssl::crypto", "rapidjson::rapidjson"],
                    "s3": ["core", "libcurl::libcurl", "pugixml::pugixml"],
                    "uploader": ["core", "s3", "sqlite3::sqlite3", "boost::headers"],
                    "audit_log": ["core"],
                    "compliance": ["core", "s3", "uploader", "cairo::cairo"]}
        for component, needs in requires.items():
            if component != "core" and not self.options.get_safe(component):
                continue
            info = self.cpp_info.components[component]
            info.set_property("cmake_target_name", f"worm::{component}")
            info.set_property("pkg_config_name", f"worm-{component}")
            info.libs = ["worm"] if self.options.shared else [f"worm_{component}"]
            info.requires = needs
            if not self.options.shared:
                info.defines = ["WORM_STATIC_DEFINE"]
            if self.settings.os in ("Linux", "FreeBSD"):
                info.system_libs = ["pthread"]
