#pragma once
// A CSV file the CLI wrote (RFC 4180: quoted fields may hold commas, doubled quotes and
// newlines), read back as rows of named fields, so tests can check per-row values against the
// summary the same run reported.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace larimar::test {

struct CsvTable {
    std::vector<std::string> header;
    std::vector<std::map<std::string, std::string>> rows;

    /// The column as numbers; an empty field is skipped (a measure that did not apply).
    std::vector<double> numbers(const std::string& column) const {
        std::vector<double> out;
        for (const auto& r : rows) {
            const auto it = r.find(column);
            EXPECT_NE(it, r.end()) << "no column " << column;
            if (it != r.end() && !it->second.empty()) out.push_back(std::stod(it->second));
        }
        return out;
    }
    double mean(const std::string& column) const {
        const auto v = numbers(column);
        double sum = 0;
        for (double x : v) sum += x;
        return v.empty() ? 0.0 : sum / double(v.size());
    }
};

inline CsvTable readCsv(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    EXPECT_TRUE(in) << "cannot open " << path;
    std::stringstream ss;
    ss << in.rdbuf();
    const std::string text = ss.str();
    std::vector<std::vector<std::string>> records(1);
    std::string field;
    bool quoted = false;
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (quoted) {
            if (c == '"' && i + 1 < text.size() && text[i + 1] == '"') field += '"', ++i;
            else if (c == '"') quoted = false;
            else field += c;
        } else if (c == '"') {
            quoted = true;
        } else if (c == ',') {
            records.back().push_back(field), field.clear();
        } else if (c == '\n') {
            records.back().push_back(field), field.clear();
            records.emplace_back();
        } else if (c != '\r') {
            field += c;
        }
    }
    if (!field.empty() || !records.back().empty()) records.back().push_back(field);
    if (records.back().empty()) records.pop_back();
    CsvTable t;
    if (records.empty()) return t;
    t.header = records[0];
    for (std::size_t r = 1; r < records.size(); ++r) {
        EXPECT_EQ(records[r].size(), t.header.size()) << path << " row " << r;
        std::map<std::string, std::string> row;
        for (std::size_t c = 0; c < t.header.size() && c < records[r].size(); ++c) row[t.header[c]] = records[r][c];
        t.rows.push_back(std::move(row));
    }
    return t;
}

/// Expects each success rate of an evaluation's summary (metrics[metric]) to be the mean of its
/// per-case CSV column; a case's success counts 0 or 1 except the paraphrase and neighbourhood
/// ones, which are shares of the case's prompts.
inline void expectSuccessRatesAreCaseMeans(const nlohmann::json& metrics, const CsvTable& table,
                                           const std::vector<std::pair<std::string, std::string>>& metricColumns) {
    for (const auto& [metric, column] : metricColumns) {
        EXPECT_DOUBLE_EQ(metrics.at(metric).get<double>(), table.mean(column)) << metric;
        if (column.find("paraphrase") == std::string::npos && column.find("neighbourhood") == std::string::npos)
            for (double v : table.numbers(column)) EXPECT_TRUE(v == 0 || v == 1) << column;
    }
}

} // namespace larimar::test
