# frozen_string_literal: true

require_relative "test_helper"
require "tmpdir"
require "rbconfig"
require "open3"

# Builds the gem the way a user would get it, installs it offline into a
# private GEM_HOME and requires it from outside the checkout.
class GemInstallTest < Minitest::Test
  ROOT = File.expand_path("..", __dir__)

  def clean_env(extra = {})
    env = ENV.to_h.select { |k, _| !k.start_with?("BUNDLE", "RUBY", "GEM_") && k != "RUBYOPT" && k != "RUBYLIB" }
    env.merge(extra)
  end

  def run!(env, *cmd, chdir:)
    out, status = Open3.capture2e(env, *cmd, chdir: chdir, unsetenv_others: true)
    assert status.success?, "#{cmd.join(" ")} failed:\n#{out[-4000..] || out}"
    out
  end

  def test_gem_build_install_and_require_from_outside_the_checkout
    Dir.mktmpdir("candle-gem") do |dir|
      gem_home = File.join(dir, "gems")
      gem_file = File.join(dir, "candle.gem")
      # Share the build directory so only the candle crate itself is rebuilt.
      target = ENV.fetch("CARGO_TARGET_DIR", File.join(ROOT, "ext/candle/target"))
      env = clean_env("CARGO_TARGET_DIR" => target, "GEM_HOME" => gem_home, "GEM_PATH" => gem_home)

      run!(env, "gem", "build", "candle.gemspec", "--output", gem_file, chdir: ROOT)
      run!(env, "gem", "install", "--local", "--no-document", "--install-dir", gem_home, gem_file, chdir: dir)

      script = 'require "candle"; print [Candle::VERSION, $LOADED_FEATURES.grep(/candle\.so$/).first, Candle::Device.cpu.to_s].join("|")'
      out = run!(env, RbConfig.ruby, "-e", script, chdir: dir)
      version, so_path, device = out.split("|")
      assert_equal Candle::VERSION, version
      assert so_path.start_with?(gem_home), "extension loaded from #{so_path}, not from the installed gem"
      assert_equal "cpu", device

      # The installed executable runs too.
      out = run!(env, File.join(gem_home, "bin", "candle"), "--version", chdir: dir)
      assert_includes out, Candle::VERSION
    end
  end
end
