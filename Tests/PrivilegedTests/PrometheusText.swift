import Foundation

/// A small reader of Prometheus's text exposition format (0.0.4): one
/// sample per line, `name{label="value",…} value`, `#` lines skipped;
/// label values unescaped (\\, \", \n). Enough to check what /metrics says.
struct PrometheusText {
    struct Sample: Equatable {
        var name: String
        var labels: [String: String]
        var value: Double
    }

    struct Malformed: Error, CustomStringConvertible {
        let line: String
        var description: String { "not a Prometheus sample line: \(line)" }
    }

    var samples: [Sample] = []

    init(_ text: String) throws {
        for line in text.split(separator: "\n") where !line.hasPrefix("#") && !line.allSatisfy(\.isWhitespace) {
            samples.append(try Self.sample(Array(line)))
        }
    }

    private static func sample(_ line: [Character]) throws -> Sample {
        var i = 0
        var name = ""
        while i < line.count, line[i] != "{", line[i] != " " { name.append(line[i]); i += 1 }
        var labels: [String: String] = [:]
        if i < line.count, line[i] == "{" {
            i += 1
            while i < line.count, line[i] != "}" {
                var key = ""
                while i < line.count, line[i] != "=" { key.append(line[i]); i += 1 }
                guard i + 1 < line.count, line[i + 1] == "\"" else { throw Malformed(line: String(line)) }
                i += 2
                var value = ""
                while i < line.count, line[i] != "\"" {
                    if line[i] == "\\", i + 1 < line.count {
                        i += 1
                        value.append(line[i] == "n" ? "\n" : line[i])
                    } else {
                        value.append(line[i])
                    }
                    i += 1
                }
                guard i < line.count else { throw Malformed(line: String(line)) }
                labels[key.trimmingCharacters(in: .whitespaces)] = value
                i += 1
                if i < line.count, line[i] == "," { i += 1 }
            }
            i += 1
        }
        let rest = String(line[min(i, line.count)...]).split(separator: " ")
        guard !name.isEmpty, let text = rest.first, let value = Double(text == "+Inf" ? "inf" : text == "-Inf" ? "-inf" : String(text)) else {
            throw Malformed(line: String(line))
        }
        return Sample(name: name, labels: labels, value: value)
    }

    /// The one sample of `name` whose labels include `labels`; nil if none or several.
    func value(_ name: String, _ labels: [String: String] = [:]) -> Double? {
        let matching = samples.filter { sample in sample.name == name && labels.allSatisfy { key, value in sample.labels[key] == value } }
        return matching.count == 1 ? matching[0].value : nil
    }

    /// The sum over every sample of `name` whose labels include `labels`.
    func sum(_ name: String, _ labels: [String: String] = [:]) -> Double {
        samples.filter { sample in sample.name == name && labels.allSatisfy { key, value in sample.labels[key] == value } }
            .map(\.value).reduce(0, +)
    }
}
