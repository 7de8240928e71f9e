"""LMF compression studio: `streamlit run app.py` (reads $LMF_ARTIFACTS_DIR, default ./artifacts).

The router: page setup, the dataset/model selection in the sidebar (shared by every page), and
st.navigation over the thin page files in pages/. Logic lives in lmf/catalog.py (the sweep's
results, torch-free) and lmf/studio.py (models), Streamlit glue in ui.py.
"""
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import streamlit as st  # noqa: E402

import ui  # noqa: E402

st.set_page_config(page_title="LMF compression studio", page_icon=":material/compress:", layout="wide")

PAGES = [
    st.Page(ROOT / "pages" / "1_choose_ratio.py", title="Choose a ratio", icon=":material/tune:", default=True),
    st.Page(ROOT / "pages" / "2_retrain_live.py", title="Retrain live", icon=":material/monitoring:"),
    st.Page(ROOT / "pages" / "3_schedules.py", title="Learning-rate schedules", icon=":material/show_chart:"),
    st.Page(ROOT / "pages" / "4_playground.py", title="Playground", icon=":material/chat:"),
    st.Page(ROOT / "pages" / "5_analysis.py", title="Analysis (section 4)", icon=":material/calculate:"),
]
page = st.navigation(PAGES)

with st.sidebar:
    st.markdown("### LMF compression studio")
    st.caption("Online low-rank factorization of the embedding layer (LMF) against 8/16-bit quantization.")
    ui.choose_dataset_model(ui.cached_results_quiet())
    st.caption(f"Artifacts: `{ui.art_dir()}`")

page.run()
