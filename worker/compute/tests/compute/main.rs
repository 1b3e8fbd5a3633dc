//! The computation through its public interface: the backtest's conventions, the cross-check
//! against backtesting.py's trades and statistics, a session tool's optimization, and stopping
//! an evaluation or an optimization. One test binary, one module per area.

mod backtest;
mod cross_check;
mod optimize_tool;
mod stop;
