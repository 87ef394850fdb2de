"""Conan 2 recipe for libworm, built from this source tree:

    conan create . -o "worm/*:proxy=True" -o "worm/*:python=True" --build=missing

Consumers: find_package(worm CONFIG) and target worm::worm (CMakeDeps), or pkg-config
`worm` (PkgConfigDeps). The dependency list must match CMakeLists.txt:
tests/packaging/check_recipes.py checks it.
"""

from conan import ConanFile
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
    options = {"shared": [True, False], "fPIC": [True, False], "python": [True, False], "proxy": [True, False]}
    default_options = {"shared": False, "fPIC": True, "python": False, "proxy": False}
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

    def requirements(self):
        self.requires("openssl/[>=3 <4]")
        self.requires("libcurl/[>=7.78 <9]")
        self.requires("rapidjson/cci.20230929", transitive_headers=True)  # json.hpp includes it
        self.requires("sqlite3/[>=3.40 <4]")
        self.requires("pugixml/[>=1.13 <2]")
        self.requires("cairo/[>=1.16 <2]")  # the compliance certificate PDF
        self.requires("libpq/[>=15 <18]")  # the evidence database on PostgreSQL
        self.requires("boost/[>=1.74 <2]")  # header-only parts: asio (library), beast (proxy)
        if self.options.python:
            self.requires("pybind11/[>=2.10 <3]")

    def validate(self):
        check_min_cppstd(self, 20)

    def generate(self):
        toolchain = CMakeToolchain(self)
        toolchain.cache_variables["WORM_BUILD_CLI"] = True
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
        self.cpp_info.libs = ["worm"]
        if not self.options.shared:
            self.cpp_info.defines = ["WORM_STATIC_DEFINE"]
        if self.settings.os in ("Linux", "FreeBSD"):
            self.cpp_info.system_libs = ["pthread"]
