#!/usr/bin/env python3
"""bench_sim_cpu.py: what a prime_serverd simulation costs, beyond its wall time.

On a small shared VM the wall time of one run says little: other processes take
the CPUs, and a run that was unlucky looks slow. What the pipeline itself spends
per request is steadier: CPU time (user + system, all threads) and context
switches, both from the kernel's accounting of the finished process (wait4, no
perf needed). This script runs several variants of the simulation interleaved
(A B C A B C ...), so that noise spreads over all of them alike, and prints the
median of each figure per variant.

    bench/bench_sim_cpu.py [-r RUNS] [-n COUNT] [-w WORKERS] [-b BINARY] VARIANT...

A VARIANT is a label and extra prime_serverd arguments, separated by a colon:
"placed:" (no extra arguments), "free:--affinity 0,1", "one-cpu:--affinity 0".
Environment variables for one variant go before the arguments as NAME=VALUE
words ("x:FOO=1 --affinity 0"); "BIN=path" runs another prime_serverd binary
(another build) for that variant.
"""
import argparse
import os
import re
import shlex
import statistics
import subprocess
import sys


def run_once(binary, args, env_extra, count, workers):
    env = dict(os.environ)
    env.update(env_extra)
    proc = subprocess.Popen([binary] + args + [str(count), str(workers)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    match = re.search(r'requests: (\d+), seconds: ([\d.]+), requests/s: (\d+)', out)
    if proc.returncode != 0 or not match:
        sys.exit('bench_sim_cpu: %s %s failed (exit %d): %s' %
                 (binary, ' '.join(args), proc.returncode, out.strip()))
    requests = int(match.group(1))
    cpu = usage.ru_utime + usage.ru_stime
    switches = usage.ru_nvcsw + usage.ru_nivcsw
    return int(match.group(3)), cpu * 1e6 / requests, switches / requests


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('-r', '--runs', type=int, default=5)
    parser.add_argument('-n', '--count', type=int, default=50000)
    parser.add_argument('-w', '--workers', type=int, default=2)
    parser.add_argument('-b', '--binary', default=None,
                        help='prime_serverd to run (default: daemons/prime_serverd of the build '
                             'in the current directory)')
    parser.add_argument('variants', nargs='+', metavar='LABEL:ARGS')
    options = parser.parse_args()
    binary = options.binary or os.path.join(os.getcwd(), 'daemons', 'prime_serverd')

    variants = []
    for text in options.variants:
        label, _, rest = text.partition(':')
        env, args, path = {}, [], binary
        for word in shlex.split(rest):
            if re.match(r'^[A-Za-z_][A-Za-z0-9_]*=', word) and not args:
                name, value = word.split('=', 1)
                if name == 'BIN':
                    path = value
                else:
                    env[name] = value
            else:
                args.append(word)
        variants.append((label or rest or 'default', path, args, env))

    results = {label: [] for label, _, _, _ in variants}
    for _ in range(options.runs):
        for label, path, args, env in variants:
            results[label].append(run_once(path, args, env, options.count, options.workers))

    print('prime_serverd COUNT=%d WORKERS=%d, median of %d interleaved runs' %
          (options.count, options.workers, options.runs))
    print('%-24s %10s %14s %12s   %s' % ('variant', 'req/s', 'CPU us/req', 'cs/req', 'req/s of each run'))
    for label, _, _, _ in variants:
        runs = results[label]
        print('%-24s %10d %14.1f %12.2f   %s' % (
            label, statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs),
            statistics.median(r[2] for r in runs), ' '.join(str(r[0]) for r in runs)))


if __name__ == '__main__':
    main()
