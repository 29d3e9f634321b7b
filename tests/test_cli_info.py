import json
import subprocess
import sys


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "s2mask.cli", *map(str, args)], capture_output=True, text=True)


def test_info_prints_a_readable_summary(product_factory):
    result = run_cli("info", product_factory("L2A", "05.09"))
    assert result.returncode == 0, result.stderr
    text = result.stdout
    for fragment in ("L2A (processing baseline 05.09)", "tile             31TCJ (EPSG:32631)",
                     "offset -1000 DN on every band", "20 m         60 x 60 px", "B8A", "MSK_DETFOO"):
        assert fragment in text
    assert "B10" not in text


def test_info_json_is_machine_readable(product_factory):
    result = run_cli("info", "--json", product_factory("L1C", "02.09"))
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["level"] == "L1C" and summary["processing_baseline"] == "02.09"
    assert summary["radiometric_offsets"] is None
    assert summary["grids"]["60"]["width"] == 20
    assert summary["bands"]["B10"]["native_resolution"] == 60
    assert summary["sun_angles"]["zenith_mean"] == 35.0


def test_every_command_prints_its_help(capsys):
    from s2mask.cli import COMMANDS, build_parser

    parser = build_parser()
    for name in COMMANDS:
        command = name.replace("_", "-")
        try:
            parser.parse_args([command, "--help"])
        except SystemExit as stop:
            assert stop.code == 0, command
        # argparse formats help with %: a stray percent sign in a help text breaks it
        assert "usage: s2mask" in capsys.readouterr().out, command
