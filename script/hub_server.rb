#!/usr/bin/env ruby
# frozen_string_literal: true

# Serves a directory tree of repos as a local HuggingFace Hub.
#
#   ruby script/hub_server.rb --root DIR [--port N] [--lfs-threshold BYTES] [--verbose]
#
# Prints exactly one line, `HF_ENDPOINT=http://127.0.0.1:PORT`, then serves until
# SIGTERM / SIGINT or until stdin reaches EOF (so a parent that dies takes it down;
# pass --no-stdin to ignore stdin). A repo is any directory under DIR holding a file
# named `.hub-repo` (see test/support/hub_server.rb).
require "optparse"
require_relative "../test/support/hub_server"

opts = { root: nil, port: 0, lfs_threshold: 1024 * 1024, host: "127.0.0.1", verbose: false, stdin: true }
OptionParser.new do |o|
  o.banner = "usage: ruby script/hub_server.rb --root DIR [--port N] [--lfs-threshold BYTES]"
  o.on("--root DIR", "directory tree of repos") { |v| opts[:root] = v }
  o.on("--port N", Integer, "port (default: any free one)") { |v| opts[:port] = v }
  o.on("--host HOST", "address to bind (default 127.0.0.1)") { |v| opts[:host] = v }
  o.on("--lfs-threshold BYTES", Integer, "files this big or bigger are served as LFS") { |v| opts[:lfs_threshold] = v }
  o.on("--[no-]stdin", "exit when stdin reaches EOF (default: yes)") { |v| opts[:stdin] = v }
  o.on("-v", "--verbose", "log each request to stderr") { opts[:verbose] = true }
end.parse!(ARGV)

server = CandleTest::HubServer.new(root: opts[:root], port: opts[:port], lfs_threshold: opts[:lfs_threshold],
                                   host: opts[:host], log: opts[:verbose] ? $stderr : nil)
server.start
$stdout.puts "HF_ENDPOINT=#{server.url}"
$stdout.flush

rd, wr = IO.pipe
%w[TERM INT].each do |sig|
  Signal.trap(sig) do
    wr.write_nonblock(".")
  rescue StandardError
    nil
  end
end

watch = [rd]
watch << $stdin if opts[:stdin]
catch(:done) do
  loop do
    ready, = IO.select(watch)
    ready.each do |io|
      throw :done if io == rd
      begin
        io.read_nonblock(4096)
      rescue IO::WaitReadable
        nil
      rescue EOFError, IOError, SystemCallError
        throw :done
      end
    end
  end
end
server.stop
exit 0
